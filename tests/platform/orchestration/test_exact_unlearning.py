"""Exact unlearning of a SISA model: a compliant (deactivated) candidate at once, then the
restoring retrain fanned out per shard, assembled and released as a quality update."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from erasure_engine.sisa import Deletion, ModelRegistry, unlearn_exact
from erasure_platform.core import topics
from erasure_platform.core.errors import Conflict
from erasure_platform.core.models import AuditEvent, Job
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.jobs import job_claim, job_create, job_execute, jobs_reap_expired
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan, ModelOutcome, UnlearningBatch
from erasure_platform.orchestration.services.batches import unlearning_start_now
from erasure_platform.orchestration.services.restore import (
    SHARD_JOB,
    batch_shard_jobs,
    batch_shard_retrained,
    finalize_job_key,
)
from erasure_platform.registry import loading
from erasure_platform.registry.models import Alias, ModelVersion, SubjectRecord, VersionStatus
from erasure_platform.registry.services.release import release_approve, release_reject
from erasure_platform.subject_requests.services import request_create, request_grant, request_verify_identity
from tests.platform.conftest import consume_published
from tests.platform.orchestration.helpers import consume_all, erase_and_unlearn
from tests.platform.registry.helpers import (
    PASSWORD,
    World,
    fake_version,
    make_production,
    run_restoring_retrain,
    users,
)
from tests.platform.subject_requests.conftest import last_code


def subjects_in_two_shards(world: World) -> tuple[int, int]:
    """Two subjects, one in each shard (a subject's records share a shard), not both in their
    shard's first slice (so deactivation leaves a trained shard)."""
    places = {}
    for index in range(len(world.subjects)):
        rows = SubjectRecord.objects.filter(dataset=world.dataset, subject_key=world.key(index))
        places[index] = (rows.first().shard, min(rows.values_list("slice", flat=True)))
    for i, (shard_i, slice_i) in places.items():
        for j, (shard_j, slice_j) in places.items():
            if shard_i == 0 and shard_j == 1 and (slice_i, slice_j) != (0, 0):
                return i, j
    raise AssertionError(f"no two subjects of the tiny world fit: {places}")


def manifest(version: ModelVersion):
    return ModelRegistry(platform_object_store()).load(version.model.name, version.version_id)


@pytest.mark.django_db
def test_a_granted_erasure_is_compliant_at_once_then_restored_by_a_per_shard_retrain(
    settings, django_capture_on_commit_callbacks
):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    settings.JOB_LEASE_SECONDS = 1800  # a slow shared CPU must not lose a lease
    people = users()
    world = World()
    requests = []
    for index in subjects_in_two_shards(world):
        identifier = world.subjects[index].identifier
        with django_capture_on_commit_callbacks(execute=True):
            request, token = request_create(identifier=identifier, jurisdiction="GDPR", channel="portal")
        with django_capture_on_commit_callbacks(execute=True):
            request = request_verify_identity(erasure_request=request, code=last_code(identifier))
        request_grant(erasure_request=request, officer=people["officer"], reason="identity proven")
        requests.append((request, token))
    consume_all()
    plans = [ErasurePlan.objects.get(request_id=str(request.pk)) for request, _ in requests]
    for plan in plans:
        assert job_execute(job_id=plan.erase_job_id, worker="t") == Job.Status.SUCCEEDED
    (request, token), plan = requests[0], plans[0]
    batch = unlearning_start_now(model=world.model, engineer=people["engineer"])
    assert job_execute(job_id=batch.unlearn_job_id, worker="t") == Job.Status.SUCCEEDED

    # 1. The deactivated candidate: the parent's checkpoints cut before each affected slice.
    deactivated = ModelVersion.objects.get(batch=batch)
    assert deactivated.method == "sisa-deactivate" and deactivated.parent == world.production
    latest, removed = loading.erasures_since(world.version)
    assert latest == deactivated.trained_on
    deletions = [Deletion.from_dict(entry) for entry in removed]
    first_affected = {}
    for deletion in deletions:
        first_affected[deletion.shard] = min(deletion.slice, first_affected.get(deletion.shard, deletion.slice))
    assert set(first_affected) == {0, 1}
    mine, parent = manifest(deactivated), manifest(world.production)
    for shard in range(parent.shards):
        kept = parent.checkpoints[shard][: first_affected[shard]]
        assert [c.to_dict() for c in mine.checkpoints[shard]] == [c.to_dict() for c in kept]
    assert deactivated.cost["samples_processed"] == 0 and deactivated.cost["time_to_compliance_seconds"] < 60
    # ... and the restoring retrain planned as one gpu job per affected shard.
    shard_jobs = batch_shard_jobs(batch.pk)
    assert sorted(job.params["shard"] for job in shard_jobs) == [0, 1]
    assert {job.queue for job in shard_jobs} == {"gpu"}

    # Verified as exact by construction (its own oracle), then released at once (four eyes).
    assert job_execute(job_id=deactivated.verification_job_id, worker="t") == Job.Status.SUCCEEDED
    deactivated.refresh_from_db()
    assert deactivated.verdict["outcome"] == "passed" and deactivated.verdict["basis"] == "exact_by_construction"
    evidence = deactivated.verdict["exact_evidence"]
    assert set(evidence["deactivated_shards"]) == {"0", "1"} and evidence["retrained_checkpoints"] == {}
    release_approve(version=deactivated, approver=people["approver"], reason="compliant at once")
    consume_all()
    for each in plans:
        each.refresh_from_db()
        assert each.status == ErasurePlan.Status.COMPLETED
        assert ModelOutcome.objects.get(plan=each).version_after == deactivated
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RELEASED
    # The forget sets stay (encrypted) until the restoring retrain's candidate is verified with them.
    assert all(ErasurePlan.objects.get(pk=each.pk).forget_set_key for each in plans)
    assert AuditEvent.objects.filter(action="erasure_plan.forget_set_kept", entity_id=str(plan.pk)).exists()

    # 2. Time to compliance on the request's timeline, for the officer and the owner.
    ready = AuditEvent.objects.filter(
        action="request.erasure_progress", entity_id=str(request.pk), data__stage="compliant_version_ready"
    ).get()
    detail = ready.data["detail"]
    assert detail["candidate"] == deactivated.version_id and detail["seconds_from_grant"] >= 0
    assert 0 <= detail["seconds_from_erasure"] <= detail["seconds_from_grant"]
    officer = Client()
    assert officer.login(username="officer", password=PASSWORD)
    page = officer.get(reverse("subject_requests:detail", args=[request.pk])).content.decode()
    assert 'id="time-to-compliance"' in page and deactivated.version_id in page and "after the grant" in page
    released = AuditEvent.objects.filter(
        action="request.erasure_progress", entity_id=str(request.pk), data__stage="released"
    ).get()
    assert released.data["detail"]["seconds_from_grant"] >= detail["seconds_from_grant"]
    assert "released" in page.split('id="time-to-compliance"')[1].split("</dd>")[0]
    owner_page = Client().get(reverse("subject_requests:status", args=[token])).content.decode()
    assert "A version of our models without your data is ready" in owner_page
    assert "after your request was granted" in owner_page

    # 3. The restoring retrain: shard jobs, then one finalize job made exactly once. A worker that
    # dies holding a shard job lets its lease lapse; the reaper puts the job back on its queue.
    lost = shard_jobs[0]
    assert job_claim(job_id=lost.pk, worker="died") is not None
    Job.objects.filter(pk=lost.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    assert jobs_reap_expired()["requeued"] == 1
    assert batch_shard_retrained(batch=batch) is None  # no shard has a result yet: no finalize job
    exact = run_restoring_retrain(batch)
    assert Job.objects.get(pk=lost.pk).attempts == 2
    assert batch_shard_retrained(batch=batch).pk == Job.objects.get(idempotency_key=finalize_job_key(batch.pk)).pk
    assert Job.objects.filter(idempotency_key=finalize_job_key(batch.pk)).count() == 1
    assert exact.method == "sisa-exact" and exact.parent == world.production and all(exact.digests["shards"])
    # Bit-identical to the single-job path (the engine recomputes and compares every shard digest).
    dataset_after = loading.engine_dataset(exact.trained_on)
    single = unlearn_exact(
        platform_object_store(),
        world.model.name,
        world.production.version_id,
        dataset_after=dataset_after,
        deletions=deletions,
        reuse_existing=False,
    )
    assert single.version_id == exact.version_id and single.shard_digests == exact.digests["shards"]

    # Released later as a quality update: its own four-eyes approval, the request stays completed.
    assert job_execute(job_id=exact.verification_job_id, worker="t") == Job.Status.SUCCEEDED
    exact.refresh_from_db()
    assert exact.verdict["outcome"] == "passed" and exact.verdict["exact_evidence"]["retrained_checkpoints"]
    assert not any(
        ErasurePlan.objects.filter(pk__in=[each.pk for each in plans]).values_list("forget_set_key", flat=True)
    )
    release_approve(version=exact, approver=people["approver"], reason="full quality restored")
    consume_all()
    batch.refresh_from_db()
    plan.refresh_from_db()
    deactivated.refresh_from_db()
    assert batch.status == BatchStatus.RELEASED and plan.status == ErasurePlan.Status.COMPLETED
    assert ModelOutcome.objects.get(plan=plan).version_after == deactivated
    assert deactivated.status == VersionStatus.SUPERSEDED and not deactivated.holds_erased_data
    assert AuditEvent.objects.filter(action="batch.quality_restored", entity_id=str(batch.pk)).exists()


@pytest.mark.django_db
def test_an_earlier_candidate_of_a_batch_never_replaces_a_later_one():
    people = users()
    world = World(train=False)
    now = timezone.now()
    batch = UnlearningBatch.objects.create(model=world.model, opens_at=now, closes_at=now)
    earlier = fake_version(world.model, batch=batch, verdict={"passed": True, "outcome": "passed"})
    later = fake_version(world.model, batch=batch, verdict={"passed": True, "outcome": "passed"})
    make_production(world.model, later)
    with pytest.raises(Conflict) as refused:
        release_approve(version=earlier, approver=people["approver"], reason="older")
    assert refused.value.code == "superseded_by_later_candidate"
    assert Alias.objects.get(model=world.model, name=Alias.PRODUCTION).version == later


@pytest.mark.django_db
def test_rejecting_the_compliant_candidate_waits_for_the_retrain_not_for_an_engineer():
    people = users()
    world = World(train=False)
    now = timezone.now()
    batch = UnlearningBatch.objects.create(model=world.model, opens_at=now, closes_at=now, status=BatchStatus.VERIFYING)
    deactivated = fake_version(world.model, batch=batch, verdict={"passed": True, "outcome": "passed"})
    job_create(
        kind=SHARD_JOB,
        params={"batch_id": str(batch.pk), "shard": 0},
        actor="t",
        idempotency_key=f"unlearn-shard:{batch.pk}:0",
    )
    release_reject(version=deactivated, approver=people["approver"], reason="not convinced by this one")
    consume_published(topics.MODEL_VERSION_REJECTED)
    batch.refresh_from_db()
    assert batch.status == BatchStatus.UNLEARNING  # the restoring retrain's candidate moves it on
    # Without a retrain coming, a rejection leaves the batch to an engineer's next try.
    other = UnlearningBatch.objects.create(model=world.model, opens_at=now, closes_at=now, status=BatchStatus.VERIFYING)
    lone = fake_version(world.model, batch=other, verdict={"passed": True, "outcome": "passed"})
    release_reject(version=lone, approver=people["approver"], reason="not convinced by this one")
    consume_published(topics.MODEL_VERSION_REJECTED)
    other.refresh_from_db()
    assert other.status == BatchStatus.REJECTED


@pytest.mark.django_db
def test_when_deactivation_would_leave_no_shard_the_retrain_is_the_first_candidate(settings):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    people = users()
    world = World(subjects=4, shards=1, slices=1)
    batch = erase_and_unlearn(world, people["engineer"], request_id="one-shard")
    result = Job.objects.get(pk=batch.unlearn_job_id).result
    assert "leaves no trained shard" in result["deactivation_refused"] and "candidate" not in result
    assert not ModelVersion.objects.filter(batch=batch).exists()
    batch.refresh_from_db()
    assert batch.status == BatchStatus.UNLEARNING
    exact = run_restoring_retrain(batch)
    batch.refresh_from_db()
    assert exact.method == "sisa-exact" and batch.status == BatchStatus.VERIFYING and exact.verification_job_id
