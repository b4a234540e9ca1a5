"""Reads of the event spine. (The audit log's verification lives in erasure_platform.evidence.selectors.)"""

from __future__ import annotations

from erasure_platform.core.engine import event_leaf_hash
from erasure_platform.core.models import AuditEvent, Job
from erasure_platform.core.services.audit import audit_event_of


def audit_events_for(*, entity_type: str, entity_id) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(entity_type=entity_type, entity_id=str(entity_id)).order_by("sequence"))


def audit_event_summaries_for(*, entity_type: str, entity_id, actions) -> list[dict]:
    """When, what and its data of an entity's events among `actions`, oldest first: the columns a
    plain-language timeline needs, filtered in SQL (no actor, MAC or model instances)."""
    return list(
        AuditEvent.objects.filter(entity_type=entity_type, entity_id=str(entity_id), action__in=list(actions))
        .order_by("sequence")
        .values("occurred_at", "action", "data")
    )


def audit_event_leaf_hash(event: AuditEvent) -> str:
    """The event's Merkle leaf hash (hex): what the log commits to, equal to its leaf's once folded."""
    return event_leaf_hash(audit_event_of(event)).hex()


def job_get(*, job_id) -> Job | None:
    return Job.objects.filter(pk=job_id).first()
