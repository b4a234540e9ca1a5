"""Writing the audit chain. Every state change calls audit_record inside its transaction."""

from __future__ import annotations

import hashlib
from datetime import timezone as dt_timezone

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from erasure_engine.records import canonical_json
from erasure_platform.core.models import AuditChainHead, AuditEvent


def audit_event_content(
    *, sequence: int, occurred_at, actor: str, action: str, entity_type: str, entity_id: str, data: dict, prev_hash: str
) -> dict:
    return {
        "sequence": sequence,
        "occurred_at": occurred_at.astimezone(dt_timezone.utc).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "data": data,
        "prev_hash": prev_hash,
    }


def audit_event_hash(content: dict) -> str:
    return hashlib.sha256(canonical_json(content)).hexdigest()


def audit_record(*, actor: str, action: str, entity_type: str, entity_id, data: dict | None = None) -> AuditEvent:
    """Append one event to the chain, in the caller's transaction (or a new one)."""
    with transaction.atomic():
        # Bumping the head first takes its row lock (PostgreSQL) or the write lock (SQLite),
        # so concurrent appends serialise and each sees the true previous hash.
        if not AuditChainHead.objects.filter(pk=1).update(sequence=F("sequence") + 1):
            # Only before the first event of a fresh database (the migration seeds the head).
            AuditChainHead.objects.get_or_create(pk=1)
            AuditChainHead.objects.filter(pk=1).update(sequence=F("sequence") + 1)
        head = AuditChainHead.objects.get(pk=1)
        fields = {
            "sequence": head.sequence,
            "occurred_at": timezone.now(),
            "actor": actor,
            "action": action,
            "entity_type": entity_type,
            "entity_id": str(entity_id),
            "data": data or {},
            "prev_hash": head.hash,
        }
        digest = audit_event_hash(audit_event_content(**fields))
        event = AuditEvent.objects.create(**fields, hash=digest)
        AuditChainHead.objects.filter(pk=1).update(hash=digest)
        return event
