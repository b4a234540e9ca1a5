"""Registry event consumers (each runs once per event, its effect committed with its receipt).

registry.consumer_notify  → e-mail a model's downstream recipient (GDPR Art. 19), audited
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail

from erasure_platform.core import topics
from erasure_platform.core.models import OutboxEvent
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import event_consumer
from erasure_platform.registry.models import Consumer


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
