"""Anchoring the audit chain outside the database.

A hash chain alone proves little to someone who can rewrite the whole table: they would
simply recompute every hash. So the chain head is periodically signed and written to the
object store (S3 Object Lock, compliance mode, where the endpoint supports it); a later
rewrite of history no longer matches the anchored heads.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from erasure_engine.evidence import sign_document
from erasure_platform.core.models import AuditChainHead
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.evidence.keys import evidence_key_id, evidence_signing_key

ANCHOR_PREFIX = "audit-anchors/"


def anchor_key(sequence: int) -> str:
    return f"{ANCHOR_PREFIX}{sequence:012d}.json"


def audit_anchor_write() -> dict | None:
    """Sign the current chain head into the object store, unless that head is anchored already."""
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is None or head.sequence == 0:
        return None
    store = platform_object_store()
    key = anchor_key(head.sequence)
    if store.exists(key):
        return None
    now = timezone.now()
    document = {
        "kind": "audit-chain-anchor",
        "schema_version": 1,
        "sequence": head.sequence,
        "hash": head.hash,
        "anchored_at": now.isoformat(),
        "key_id": evidence_key_id(),
    }
    retain_until = now + timedelta(days=settings.AUDIT_ANCHOR_RETENTION_DAYS)
    _, locked = store.put_bytes_retained(key, sign_document(document, evidence_signing_key()), retain_until=retain_until)
    return {**document, "object_key": key, "object_lock": locked}
