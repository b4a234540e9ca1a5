"""The real unlearn, shard retrain, finalize and verify handlers on a tiny SISA model, run by real
Celery workers: the compliant (deactivated) candidate first, then the restoring retrain with its
shard jobs on two workers at once."""

import pytest

from erasure_engine.sisa import Deletion, unlearn_exact
from erasure_platform.core.models import Job, OutboxEvent
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan
from erasure_platform.orchestration.services.batches import unlearning_start_now
from erasure_platform.orchestration.services.plans import plan_erasure
from erasure_platform.orchestration.services.restore import batch_shard_jobs, finalize_job_key
from erasure_platform.registry import loading
from erasure_platform.registry.models import ModelVersion, SubjectRecord, VersionStatus
from erasure_platform.registry.services.release import release_approve
from tests.platform.conftest import wait_until
from tests.platform.registry.helpers import World, deadline, users


def subject_in_shard(world: World, shard: int, *, not_first_slice: bool = False) -> int:
    for index in range(len(world.subjects)):
        rows = SubjectRecord.objects.filter(dataset=world.dataset, subject_key=world.key(index))
        if rows.first().shard == shard and not (not_first_slice and rows.filter(slice=0).exists()):
            return index
    raise AssertionError(f"no subject of the tiny world in shard {shard}")


@pytest.mark.django_db(transaction=True)
def test_grant_to_release_with_the_shard_retrains_on_two_real_workers(settings, start_worker, purge_broker, relay):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    people = users()
    world = World()
    # Two requests in one batch, one per shard: the restoring retrain touches both shards.
    subjects = [subject_in_shard(world, 0, not_first_slice=True), subject_in_shard(world, 1)]
    plans = [
        plan_erasure(request_id=f"int-{n}", subject_key=world.key(i), scope={"type": "all"}, deadline_at=deadline())
        for n, i in enumerate(subjects)
    ]
    # Erasure, the unlearn job and the compliant candidate's verification here, so both workers are
    # idle when the shard jobs reach the gpu queue.
    for plan in plans:
        assert job_execute(job_id=plan.erase_job_id, worker="t") == Job.Status.SUCCEEDED
    batch = unlearning_start_now(model=world.model, engineer=people["engineer"])
    assert job_execute(job_id=batch.unlearn_job_id, worker="t") == Job.Status.SUCCEEDED
    deactivated = ModelVersion.objects.get(batch=batch)
    assert deactivated.method == "sisa-deactivate" and deactivated.parent == world.production
    shard_jobs = batch_shard_jobs(batch.pk)
    assert sorted(job.params["shard"] for job in shard_jobs) == [0, 1]
    assert job_execute(job_id=deactivated.verification_job_id, worker="t") == Job.Status.SUCCEEDED
    deactivated.refresh_from_db()
    start_worker("default,gpu")
    start_worker("default,gpu")
    assert deactivated.verdict["outcome"] == "passed" and deactivated.verdict["basis"] == "exact_by_construction"
    assert deactivated.verdict["exact_evidence"]["deactivated_shards"]
    batch.refresh_from_db()
    assert batch.status == BatchStatus.AWAITING_APPROVAL
    release_approve(version=deactivated, approver=people["approver"], reason="compliant at once")

    def completed_and_restored():
        relay()  # the release reaches orchestration as an event, through a worker
        version = ModelVersion.objects.filter(model=world.model, batch=batch, method="sisa-exact").first()
        done = all(ErasurePlan.objects.get(pk=p.pk).status == ErasurePlan.Status.COMPLETED for p in plans)
        return version if done and version is not None and version.verdict is not None else None

    exact = wait_until(
        completed_and_restored, timeout=300, interval=0.5, message="completion and the restored candidate"
    )
    payload = OutboxEvent.objects.filter(topic="request.erasure_completed").first().payload
    assert payload["models"][0]["version_after"] == deactivated.version_id
    assert payload["models"][0]["verdict"]["proof"] == "exact_by_construction"

    # Each shard retrained by its own job, on two different workers; one finalize job assembled them.
    shard_jobs = batch_shard_jobs(batch.pk)
    assert {job.status for job in shard_jobs} == {Job.Status.SUCCEEDED}
    assert len({job.lease_owner for job in shard_jobs}) == 2, [job.lease_owner for job in shard_jobs]
    finalize = Job.objects.get(idempotency_key=finalize_job_key(batch.pk))
    assert finalize.status == Job.Status.SUCCEEDED and finalize.result["version_id"] == exact.version_id
    assert exact.parent == world.production and exact.cost["slices_retrained"] >= 2
    assert exact.verdict["outcome"] == "passed" and exact.verdict["exact_evidence"]["retrained_checkpoints"]
    changed = [a != b for a, b in zip(exact.digests["shards"], world.production.digests["shards"])]
    assert all(changed)  # both shards retrained
    # Bit-identical to the single-job path: the engine retrains every affected shard in one call and
    # compares each digest with the assembled version's (IntegrityMismatch otherwise).
    latest, removed = loading.erasures_since(world.version)
    single = unlearn_exact(
        platform_object_store(),
        world.model.name,
        world.production.version_id,
        dataset_after=loading.engine_dataset(latest),
        deletions=[Deletion.from_dict(entry) for entry in removed],
        reuse_existing=False,
    )
    assert single.version_id == exact.version_id and single.shard_digests == exact.digests["shards"]

    # The quality update: its own approval; the requests stay completed.
    release_approve(version=exact, approver=people["approver"], reason="full quality restored")
    exact.refresh_from_db()
    deactivated.refresh_from_db()
    assert exact.status == VersionStatus.RELEASED and deactivated.status == VersionStatus.SUPERSEDED
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RELEASED
