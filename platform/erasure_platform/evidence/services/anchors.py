"""Anchoring the transparency log outside the database.

Someone who controls the database (and even the platform's keys) could rebuild the log and
have new tree heads signed over a rewritten history. So the latest signed tree head is
published to the anchor store at a fixed cadence, one object per tree head, under an
identity that cannot delete (and with S3 Object Lock, compliance mode, where supported); a
later rewrite no longer matches the anchored heads, and hiding them leaves delete markers.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from erasure_platform.evidence.anchor_store import anchor_object_store
from erasure_platform.evidence.services.transparency_log import latest_tree_head

ANCHOR_PREFIX = "audit-anchors/"
# Signed tree heads only: anchors of the former hash chain (audit-anchors/<sequence>.json) are left alone.
STH_ANCHOR_PREFIX = f"{ANCHOR_PREFIX}sth-"


def anchor_key(timestamp_ms: int) -> str:
    return f"{STH_ANCHOR_PREFIX}{timestamp_ms:015d}.json"


def audit_anchor_write() -> dict | None:
    """Publish the latest signed tree head, unless it is published already."""
    head = latest_tree_head()
    if head is None:
        return None
    store = anchor_object_store()
    key = anchor_key(head.timestamp_ms)
    if store.exists(key):
        return None
    retain_until = timezone.now() + timedelta(days=settings.AUDIT_ANCHOR_RETENTION_DAYS)
    _, locked = store.put_bytes_retained(key, head.signed.encode("ascii"), retain_until=retain_until)
    return {
        "tree_size": head.tree_size,
        "root_hash": head.root_hash,
        "timestamp_ms": head.timestamp_ms,
        "object_key": key,
        "object_lock": locked,
    }
