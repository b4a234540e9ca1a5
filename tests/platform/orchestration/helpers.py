"""The path most orchestration tests take: a subject's erasure planned and run, then an engineer
starting the model's unlearning at once and its unlearn job run in-process."""

from __future__ import annotations

from erasure_platform.core import topics
from erasure_platform.core.models import Job
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.orchestration.models import ErasurePlan, UnlearningBatch
from erasure_platform.orchestration.services.batches import unlearning_start_now
from erasure_platform.orchestration.services.plans import plan_erasure
from erasure_platform.subject_requests.services import request_create, request_grant, request_verify_identity
from tests.platform.conftest import consume_published
from tests.platform.registry.helpers import World, deadline
from tests.platform.subject_requests.conftest import last_code


def run_job(job_id) -> None:
    assert job_execute(job_id=job_id, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(pk=job_id).error


def erase_and_unlearn(world: World, engineer, *, request_id: str, subject: int = 0) -> UnlearningBatch:
    plan = plan_erasure(
        request_id=request_id, subject_key=world.key(subject), scope={"type": "all"}, deadline_at=deadline()
    )
    run_job(plan.erase_job_id)
    batch = unlearning_start_now(model=world.model, engineer=engineer)
    run_job(batch.unlearn_job_id)
    return batch


def consume_all():
    """Run this process's consumers until no event of these topics is left (one may publish another)."""
    while sum(
        consume_published(topic)
        for topic in (
            topics.REQUEST_GRANTED,
            topics.MODEL_VERSION_RELEASED,
            topics.REQUEST_ERASURE_PROGRESS,
            topics.REQUEST_ERASURE_COMPLETED,
            topics.PLAN_COMPLETED,
        )
    ):
        pass


def grant_request_for(identifier: str, officer, capture) -> ErasurePlan:
    """The owner's request, identity proven, granted; the erasure plan and its erase job run."""
    with capture(execute=True):
        request, _ = request_create(identifier=identifier, jurisdiction="GDPR", channel="portal")
    with capture(execute=True):
        request = request_verify_identity(erasure_request=request, code=last_code(identifier))
    request_grant(erasure_request=request, officer=officer, reason="identity proven, no exemption")
    consume_all()
    plan = ErasurePlan.objects.get(request_id=str(request.pk))
    assert job_execute(job_id=plan.erase_job_id, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(
        pk=plan.erase_job_id
    ).error
    plan.refresh_from_db()
    return plan
