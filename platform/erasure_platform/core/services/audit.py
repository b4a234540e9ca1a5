"""Writing audit events. Every state change calls audit_record inside its transaction.

An append is one INSERT with no shared row locked, so writers never queue behind each other;
the dispatcher folds committed events into the Merkle log afterwards
(erasure_platform.evidence.services.transparency_log). Each event carries an HMAC with a key
from the environment, so a database credential alone can neither forge nor alter one.
"""

from __future__ import annotations

import uuid
from datetime import UTC

from django.conf import settings
from django.utils import timezone

from erasure_platform.core.audit_actions import audit_action_check
from erasure_platform.core.engine import event_mac
from erasure_platform.core.models import AuditEvent


def audit_mac_key() -> bytes:
    return settings.AUDIT_MAC_KEY.encode("utf-8")


def audit_event_content(
    *, uid, occurred_at, actor: str, action: str, entity_type: str, entity_id: str, data: dict, mac: str | None = None
) -> dict:
    """The event as the log and every verifier see it (RFC 8785 canonicalised for hashing)."""
    content = {
        "uid": str(uid),
        "occurred_at": occurred_at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_id": entity_id,
        "data": data,
    }
    if mac is not None:
        content["mac"] = mac
    return content


def audit_event_of(event: AuditEvent) -> dict:
    """The logged content of a stored event, MAC included."""
    return audit_event_content(
        uid=event.uid,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        entity_type=event.entity_type,
        entity_id=event.entity_id,
        data=event.data,
        mac=event.mac,
    )


def _audit_event(*, actor: str, action: str, entity_type: str, entity_id, data: dict | None = None) -> AuditEvent:
    audit_action_check(action, entity_type, data or {})  # the vocabulary: core/audit_actions.py
    fields = {
        "uid": uuid.uuid4(),
        # Stored with microsecond precision: the content hashed now must equal the one reread later.
        "occurred_at": timezone.now(),
        "actor": actor,
        "action": str(action),  # an AuditAction is stored as its plain value
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "data": data or {},
    }
    return AuditEvent(**fields, mac=event_mac(audit_mac_key(), audit_event_content(**fields)))


def audit_record(*, actor: str, action: str, entity_type: str, entity_id, data: dict | None = None) -> AuditEvent:
    """Append one event, in the caller's transaction (or a new one)."""
    event = _audit_event(actor=actor, action=action, entity_type=entity_type, entity_id=entity_id, data=data)
    # One INSERT: atomic by itself, so no savepoint inside the caller's transaction.
    event.save(force_insert=True)
    return event


def audit_record_many(events: list[dict]) -> list[AuditEvent]:
    """Append several events of one state change (each a dict of audit_record's arguments) with
    one multi-row INSERT, in the caller's transaction. Each event is timestamped and MACed as
    audit_record does; their sequence numbers follow the list's order."""
    built = [_audit_event(**event) for event in events]
    # One statement: atomic by itself, like audit_record's INSERT.
    return AuditEvent.objects.bulk_create(built)
