"""Reads of the event spine. (The audit log's verification lives in erasure_platform.evidence.selectors.)"""

from __future__ import annotations

from erasure_platform.core.models import AuditEvent, Job


def audit_events_for(*, entity_type: str, entity_id) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(entity_type=entity_type, entity_id=str(entity_id)).order_by("sequence"))


def job_get(*, job_id) -> Job | None:
    return Job.objects.filter(pk=job_id).first()
