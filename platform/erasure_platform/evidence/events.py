"""Evidence reacts to completed requests by issuing their certificate."""

from erasure_platform.core import topics
from erasure_platform.core.models import OutboxEvent
from erasure_platform.core.services.outbox import event_consumer
from erasure_platform.evidence.services.certificates import certificate_issue
from erasure_platform.subject_requests.models import ErasureRequest


@event_consumer(topics.REQUEST_COMPLETED, name="evidence.issue_certificate")
def issue_certificate(event: OutboxEvent) -> None:
    request = ErasureRequest.objects.filter(pk=event.payload.get("request_id")).first()
    if request is not None:
        certificate_issue(erasure_request=request)
