"""Reads of the event spine."""

from __future__ import annotations

from dataclasses import dataclass

from erasure_platform.core.models import GENESIS_HASH, AuditChainHead, AuditEvent, Job
from erasure_platform.core.services.audit import audit_event_content, audit_event_hash


@dataclass(frozen=True)
class ChainVerification:
    ok: bool
    events_checked: int
    head_hash: str
    first_broken_sequence: int | None = None
    first_broken_id: int | None = None
    reason: str = ""

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "events_checked": self.events_checked,
            "head_hash": self.head_hash,
            "first_broken_sequence": self.first_broken_sequence,
            "first_broken_id": self.first_broken_id,
            "reason": self.reason,
        }


def audit_chain_verify(*, batch_size: int = 2000) -> ChainVerification:
    """Recompute every hash from the genesis and name the first link that does not hold."""
    expected_prev = GENESIS_HASH
    expected_sequence = 1
    checked = 0
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=batch_size):
        def broken(reason: str) -> ChainVerification:
            return ChainVerification(False, checked, expected_prev, event.sequence, event.id, reason)

        if event.sequence != expected_sequence:
            return broken(f"sequence {event.sequence} found where {expected_sequence} was expected (event missing)")
        if event.prev_hash != expected_prev:
            return broken("prev_hash does not match the previous event's hash")
        content = audit_event_content(
            sequence=event.sequence,
            occurred_at=event.occurred_at,
            actor=event.actor,
            action=event.action,
            entity_type=event.entity_type,
            entity_id=event.entity_id,
            data=event.data,
            prev_hash=event.prev_hash,
        )
        if audit_event_hash(content) != event.hash:
            return broken("content does not match its hash (row altered)")
        expected_prev = event.hash
        expected_sequence += 1
        checked += 1
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.sequence != checked or head.hash != expected_prev):
        return ChainVerification(
            False, checked, expected_prev, checked + 1, None,
            f"chain ends at sequence {checked} but the head records {head.sequence} (events deleted at the end)",
        )
    return ChainVerification(True, checked, expected_prev)


def audit_events_for(*, entity_type: str, entity_id) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(entity_type=entity_type, entity_id=str(entity_id)).order_by("sequence"))


def job_get(*, job_id) -> Job | None:
    return Job.objects.filter(pk=job_id).first()
