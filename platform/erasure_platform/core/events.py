"""Core event consumers: the spine's own diagnostics.

system.ping → an audit event proves the outbox → broker → worker path end to end.
"""

from __future__ import annotations

from erasure_platform.core import topics
from erasure_platform.core.models import OutboxEvent
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import event_consumer


@event_consumer(topics.SYSTEM_PING, name="core.system_pong")
def system_pong(event: OutboxEvent) -> None:
    audit_record(
        actor="system:worker",
        action="system.pong",
        entity_type="outbox_event",
        entity_id=event.id,
        data={"ping": event.payload},
    )
