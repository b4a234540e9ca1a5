"""Registry event consumers (each runs once per event, its effect committed with its receipt).

request.granted           → plan the erasure: lineage, dataset erasure job, pending model outcomes
registry.batch_due        → close a batch whose window ended (starts the unlearning job)
registry.consumer_notify  → e-mail a model's downstream recipient (GDPR Art. 19), audited
registry.plan_completed   → destroy the request's encrypted forget set
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail

from erasure_platform.core import topics
from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.models import OutboxEvent
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import event_consumer
from erasure_platform.registry.forget_sets import forget_set_destroy
from erasure_platform.registry.models import Consumer, ErasurePlan
from erasure_platform.registry.services.batches import batch_close_if_due
from erasure_platform.registry.services.plans import plan_erasure

logger = logging.getLogger(__name__)


@event_consumer(topics.REQUEST_GRANTED, name="registry.plan_erasure")
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
            actor="system:registry",
            action="erasure_plan.refused",
            entity_type="outbox_event",
            entity_id=event.id,
            data={"error": str(error)[:500]},
        )


@event_consumer(topics.REGISTRY_BATCH_DUE, name="registry.close_due_batch")
def on_batch_due(event: OutboxEvent) -> None:
    batch_close_if_due(batch_id=event.payload.get("batch_id"))


@event_consumer(topics.REGISTRY_CONSUMER_NOTIFY, name="registry.notify_consumer")
def on_consumer_notify(event: OutboxEvent) -> None:
    payload = event.payload
    consumer = Consumer.objects.filter(pk=payload.get("consumer_id")).select_related("model").first()
    if consumer is None:
        return
    why = " because personal data was erased from it (GDPR Art. 17)" if payload.get("because_of_erasure") else ""
    body = (
        f"Hello {consumer.name},\n\n"
        f"Model {payload['model']} version {payload['old_version']}, which you use, has been superseded{why} "
        f"by version {payload['new_version']}.\n"
        "Please switch to the new version and delete copies or outputs derived from the old one "
        "(GDPR Art. 19: we notify every recipient of an erasure).\n"
    )
    send_mail(
        subject=f"Model {payload['model']}: version {payload['old_version']} superseded",
        message=body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[consumer.email],
    )
    audit_record(
        actor="system:registry",
        action="consumer.notified",
        entity_type="model",
        entity_id=consumer.model_id,
        data={
            "consumer": consumer.pk,
            "email": consumer.email,
            "old_version": payload["old_version"],
            "new_version": payload["new_version"],
            "because_of_erasure": bool(payload.get("because_of_erasure")),
        },
    )


@event_consumer(topics.REGISTRY_PLAN_COMPLETED, name="registry.destroy_forget_set")
def on_plan_completed(event: OutboxEvent) -> None:
    plan = ErasurePlan.objects.filter(pk=event.payload.get("plan_id")).first()
    if plan is None or not plan.forget_set_key:
        return
    destroyed = forget_set_destroy(plan.forget_set_key)
    audit_record(
        actor="system:registry",
        action="erasure_plan.forget_set_destroyed",
        entity_type="erasure_plan",
        entity_id=plan.pk,
        data={"key": plan.forget_set_key, "object_versions_destroyed": destroyed},
    )
    ErasurePlan.objects.filter(pk=plan.pk).update(forget_set_key="")
