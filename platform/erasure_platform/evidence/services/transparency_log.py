"""Folding committed audit events into the Merkle log and signing tree heads.

Writers only INSERT events (core.services.audit). Here, one folder at a time (a PostgreSQL
advisory lock; other dispatchers skip) gives each committed, unfolded event the next leaf
index, extends the tree from the last head's frontier and signs a new tree head. Idempotent:
an event already folded is never folded again, and a fold that fails leaves nothing behind.
"""

from __future__ import annotations

import json
import logging
import time

from django.conf import settings
from django.db import connection, transaction

from erasure_platform.core.engine import (
    MerkleTree,
    event_leaf_hash,
    event_mac_valid,
    frontier_append,
    root_from_frontier,
    tree_head_sign,
)
from erasure_platform.core.errors import Conflict
from erasure_platform.core.models import AuditEvent, AuditLogLeaf, SignedTreeHead
from erasure_platform.core.services.audit import audit_event_of, audit_mac_key
from erasure_platform.evidence.keys import evidence_signing_key

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key: "audit log fold" (any constant shared by every folder).
FOLD_LOCK_KEY = 0x4155_4449_545F_4C47


def _take_fold_lock(*, wait: bool) -> bool:
    if connection.vendor != "postgresql":
        return True  # SQLite serialises writers itself
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FOLD_LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [FOLD_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def latest_tree_head() -> SignedTreeHead | None:
    return SignedTreeHead.objects.order_by("-timestamp_ms").first()


def _now_ms() -> int:
    return int(time.time() * 1000)


def audit_log_fold(*, wait: bool = False, heartbeat_seconds: float | None = None) -> dict | None:
    """Fold every committed, unfolded event into the log and sign a tree head over the result.

    With nothing new, a head is still signed once `heartbeat_seconds` have passed since the
    last one, so that anchors keep their cadence. Returns a summary, or None when nothing
    was signed (nothing new, or another folder holds the lock and `wait` is False)."""
    heartbeat = settings.AUDIT_ANCHOR_INTERVAL_SECONDS / 2 if heartbeat_seconds is None else heartbeat_seconds
    batch_size = settings.AUDIT_FOLD_BATCH_SIZE
    with transaction.atomic():
        if not _take_fold_lock(wait=wait):
            return None
        head = latest_tree_head()
        size = head.tree_size if head else 0
        frontier = [bytes.fromhex(value) for value in head.frontier] if head else []
        mac_key = audit_mac_key()
        folded = forged = 0
        while True:
            pending = list(AuditEvent.objects.filter(leaf__isnull=True).order_by("sequence")[:batch_size])
            if not pending:
                break
            leaves = []
            for event in pending:
                content = audit_event_of(event)
                if not event_mac_valid(mac_key, content):
                    # Logged anyway, so the forgery stays on record; the verifier names it.
                    forged += 1
                    logger.error(
                        "audit event %s has no valid MAC: forged or altered outside the platform", event.sequence
                    )
                digest = event_leaf_hash(content)
                leaves.append(AuditLogLeaf(leaf_index=size, event=event, leaf_hash=digest.hex()))
                frontier = frontier_append(frontier, size, digest)
                size += 1
            AuditLogLeaf.objects.bulk_create(leaves)
            folded += len(leaves)
            if len(pending) < batch_size:
                break
        now = _now_ms()
        if not folded and head is not None and now - head.timestamp_ms < heartbeat * 1000:
            return None
        timestamp = max(now, head.timestamp_ms + 1) if head else now
        signed = tree_head_sign(
            tree_size=size,
            root_hash=root_from_frontier(frontier),
            timestamp_ms=timestamp,
            private_key=evidence_signing_key(),
        )
        SignedTreeHead.objects.create(
            tree_size=size,
            root_hash=signed.root_hex,
            timestamp_ms=timestamp,
            signed=signed.signed.decode("ascii"),
            frontier=[value.hex() for value in frontier],
        )
    return {
        "tree_size": size,
        "folded": folded,
        "forged": forged,
        "root_hash": signed.root_hex,
        "timestamp_ms": timestamp,
    }


def audit_log_tree(tree_size: int) -> MerkleTree:
    """The log's first `tree_size` leaves, as stored (verifiers recompute them from events)."""
    hashes = (
        AuditLogLeaf.objects.filter(leaf_index__lt=tree_size).order_by("leaf_index").values_list("leaf_hash", flat=True)
    )
    leaves = [bytes.fromhex(value) for value in hashes.iterator(chunk_size=10000)]
    if len(leaves) != tree_size:
        raise Conflict(f"the log holds {len(leaves)} leaves where a tree head records {tree_size}")
    return MerkleTree(leaves)


def audit_log_proofs_for(*, entity_type: str, entity_id) -> dict:
    """Fold first (waiting for any other folder), then prove every event of the entity against the new head.

    Returns {"sth": the signed tree head as JSON, "events": [{"leaf_index", "event", "inclusion_proof"}]}.
    Refuses (Conflict) an event whose MAC does not hold: a certificate never vouches for a forgery."""
    audit_log_fold(wait=True)
    head = latest_tree_head()
    leaves = list(
        AuditLogLeaf.objects.select_related("event")
        .filter(event__entity_type=entity_type, event__entity_id=str(entity_id), leaf_index__lt=head.tree_size)
        .order_by("leaf_index")
    )
    tree = audit_log_tree(head.tree_size)
    mac_key = audit_mac_key()
    events = []
    for leaf in leaves:
        content = audit_event_of(leaf.event)
        if not event_mac_valid(mac_key, content) or event_leaf_hash(content).hex() != leaf.leaf_hash:
            raise Conflict(
                f"audit event #{leaf.event.sequence} of {entity_type} {entity_id} fails its MAC or leaf check"
            )
        proof = tree.inclusion_proof(leaf.leaf_index, head.tree_size)
        events.append({"leaf_index": leaf.leaf_index, "event": content, "inclusion_proof": [h.hex() for h in proof]})
    return {"sth": json.loads(head.signed), "events": events}
