"""Event consumers (registered on import by the app config): the registry's side of the contract.

request.erasure_progress {"request_id", "stage", "detail"} → shown on the request's timeline.
request.erasure_completed {"request_id", "datasets", "models"} → request completed, payload kept
as the completion record, owner told, audited.
"""

from erasure_platform.core import topics
from erasure_platform.core.models import OutboxEvent
from erasure_platform.core.services.outbox import event_consumer
from erasure_platform.subject_requests.services import (
    request_complete,
    request_record_progress,
)


@event_consumer(topics.REQUEST_ERASURE_PROGRESS, name="subject_requests.record_progress")
def on_erasure_progress(event: OutboxEvent) -> None:
    request_record_progress(payload=event.payload)


@event_consumer(topics.REQUEST_ERASURE_COMPLETED, name="subject_requests.complete")
def on_erasure_completed(event: OutboxEvent) -> None:
    request_complete(payload=event.payload)
