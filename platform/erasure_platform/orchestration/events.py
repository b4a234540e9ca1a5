"""Orchestration's event consumers (each runs once per event, its effect committed with its receipt).

request.granted           → plan the erasure: lineage, dataset erasure job, pending model outcomes
orchestration.batch_due   → close a batch whose window ended (starts the unlearning job)
model_version.released    → the batch's requests are done for that model; complete those that can
model_version.rejected    → the batch's requests wait for an engineer's next try
orchestration.plan_completed → destroy the request's encrypted forget set (or keep it until the
                               batch's restoring retrain is verified)
job.failed                → a restoring retrain's shard or finalize job failed for good: record it
"""

from __future__ import annotations

import logging

from erasure_platform.core import topics
from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.models import OutboxEvent
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import event_consumer
from erasure_platform.orchestration.models import ErasurePlan
from erasure_platform.orchestration.services.batches import batch_close_if_due
from erasure_platform.orchestration.services.candidates import (
    batch_candidate_rejected,
    batch_candidate_released,
    batch_restore_job_failed,
)
from erasure_platform.orchestration.services.plans import plan_erasure, plan_forget_set_destroy
from erasure_platform.orchestration.services.progress import ACTOR
from erasure_platform.orchestration.services.restore import FINALIZE_JOB, SHARD_JOB
from erasure_platform.registry.models import ModelVersion

logger = logging.getLogger(__name__)


@event_consumer(topics.REQUEST_GRANTED, name="orchestration.plan_erasure")
def on_request_granted(event: OutboxEvent) -> None:
    payload = event.payload
    try:
        plan_erasure(
            request_id=str(payload["request_id"]),
            subject_key=payload["subject_key"],
            scope=payload.get("scope") or {"type": "all"},
            deadline_at=payload["deadline_at"],
        )
    except (KeyError, ApplicationError) as error:
        # A malformed event can never succeed: record it instead of retrying forever.
        logger.error("request.granted %s not planned: %r", event.id, error)
        audit_record(
            actor=ACTOR,
            action="erasure_plan.refused",
            entity_type="outbox_event",
            entity_id=event.id,
            data={"error": str(error)[:500]},
        )


@event_consumer(topics.BATCH_DUE, name="orchestration.close_due_batch")
def on_batch_due(event: OutboxEvent) -> None:
    batch_close_if_due(batch_id=event.payload.get("batch_id"))


def _batch_candidate(event: OutboxEvent) -> ModelVersion | None:
    if not event.payload.get("batch_id"):
        return None  # a version made outside a batch (training, import): no request waits on it
    return ModelVersion.objects.select_related("model").filter(pk=event.payload.get("version_id")).first()


@event_consumer(topics.MODEL_VERSION_RELEASED, name="orchestration.candidate_released")
def on_version_released(event: OutboxEvent) -> None:
    version = _batch_candidate(event)
    if version is not None:
        batch_candidate_released(version=version)


@event_consumer(topics.MODEL_VERSION_REJECTED, name="orchestration.candidate_rejected")
def on_version_rejected(event: OutboxEvent) -> None:
    version = _batch_candidate(event)
    if version is not None:
        batch_candidate_rejected(version=version, reason=event.payload.get("reason", ""))


@event_consumer(topics.PLAN_COMPLETED, name="orchestration.destroy_forget_set")
def on_plan_completed(event: OutboxEvent) -> None:
    plan = ErasurePlan.objects.filter(pk=event.payload.get("plan_id")).first()
    if plan is not None:
        plan_forget_set_destroy(plan=plan)


@event_consumer(topics.JOB_FAILED, name="orchestration.restore_job_failed")
def on_job_failed(event: OutboxEvent) -> None:
    if event.payload.get("kind") in (SHARD_JOB, FINALIZE_JOB):
        batch_restore_job_failed(job_id=event.payload.get("job_id"))
