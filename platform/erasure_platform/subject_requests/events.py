"""Event consumers (registered on import by the app config): the registry's side of the contract.

request.erasure_progress {"request_id", "stage", "detail"} → shown on the request's timeline.
request.erasure_completed {"request_id", "datasets", "models"} → request completed, payload kept
as the completion record, owner told, audited.
owner.email {"request_id", "recipient", "subject", "body_encrypted"} → one e-mail to the owner.
"""

from erasure_platform.core import topics
from erasure_platform.core.models import OutboxEvent
from erasure_platform.core.services.outbox import event_consumer
from erasure_platform.subject_requests.services import (
    request_complete,
    request_record_progress,
)
from erasure_platform.subject_requests.services.notifications import owner_email_deliver


@event_consumer(topics.REQUEST_ERASURE_PROGRESS, name="subject_requests.record_progress")
def on_erasure_progress(event: OutboxEvent) -> None:
    request_record_progress(payload=event.payload)


@event_consumer(topics.REQUEST_ERASURE_COMPLETED, name="subject_requests.complete")
def on_erasure_completed(event: OutboxEvent) -> None:
    request_complete(payload=event.payload)


@event_consumer(topics.OWNER_EMAIL, name="subject_requests.send_owner_email")
def on_owner_email(event: OutboxEvent) -> None:
    owner_email_deliver(event_id=event.id, payload=event.payload)
