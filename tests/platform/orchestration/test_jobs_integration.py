"""The real unlearn and verify handlers on a tiny SISA model, run by a real Celery worker."""

import pytest

from erasure_platform.core.models import Job, OutboxEvent
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan
from erasure_platform.orchestration.services.plans import plan_erasure
from erasure_platform.registry.models import ModelVersion, VersionStatus
from erasure_platform.registry.services.release import release_approve
from tests.platform.conftest import wait_until
from tests.platform.registry.helpers import World, deadline, users


@pytest.mark.django_db(transaction=True)
def test_grant_to_release_on_a_real_worker(settings, start_worker, purge_broker, relay):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 0
    people = users()
    world = World()
    start_worker("default,gpu")
    plan = plan_erasure(request_id="int-1", subject_key=world.key(0), scope={"type": "all"}, deadline_at=deadline())

    def candidate_verified():
        relay()
        plan.refresh_from_db()
        version = ModelVersion.objects.filter(model=world.model, batch__isnull=False).first()
        return version if version is not None and version.verdict is not None else None

    candidate = wait_until(candidate_verified, timeout=240, interval=0.5, message="a verified candidate")
    assert candidate.method == "sisa-exact" and candidate.parent == world.production
    assert candidate.cost["slices_retrained"] >= 1
    assert {"membership_roc", "loss_histograms"} <= set(candidate.plots)
    assert candidate.verdict["schema_version"] == 2 and candidate.verdict["metrics"]
    # Exact unlearning: passed by construction, with its evidence, and every attack still reported.
    assert candidate.verdict["outcome"] == "passed" and candidate.verdict["basis"] == "exact_by_construction"
    evidence = candidate.verdict["exact_evidence"]
    assert evidence["retrained_checkpoints"] and set(evidence["retrained_checkpoints"].values()) <= set(
        candidate.digests["shards"]
    )
    unlearn_job = Job.objects.get(pk=candidate.batch.unlearn_job_id)
    assert unlearn_job.status == Job.Status.SUCCEEDED and unlearn_job.progress == 1.0 and unlearn_job.state["shards"]
    assert candidate.batch.status == BatchStatus.AWAITING_APPROVAL
    # The shard retrain is the oracle: the candidate's digests differ from the parent's only where retrained.
    changed = [a != b for a, b in zip(candidate.digests["shards"], world.production.digests["shards"])]
    assert any(changed)

    release_approve(version=candidate, approver=people["approver"], reason="exact unlearning")

    def plan_completed():
        relay()  # the release reaches orchestration as an event, through the worker
        plan.refresh_from_db()
        return plan.status == ErasurePlan.Status.COMPLETED

    wait_until(plan_completed, timeout=60, interval=0.5, message="the plan completed after the release")
    payload = OutboxEvent.objects.get(topic="request.erasure_completed").payload
    assert payload["models"][0]["version_after"] == candidate.version_id
    assert payload["models"][0]["approved_by"] == "approver"
    assert payload["models"][0]["verdict"]["proof"] == "exact_by_construction"
    candidate.refresh_from_db()
    assert candidate.status == VersionStatus.RELEASED
