"""Verifying the evidence: the transparency log against its signed tree heads and anchors."""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings

from erasure_platform.core.engine import (
    Checkpoint,
    EngineError,
    Finding,
    MerkleTree,
    Tampering,
    TreeHead,
    checkpoint_sign,
    event_leaf_hash,
    event_mac_valid,
    tree_head_verify,
    tree_heads_against_leaves,
    verifier_key,
    verify_document,
)
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.core.models import AuditEvent, AuditLogLeaf, SignedTreeHead
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_event_of, audit_mac_key
from erasure_platform.evidence.anchor_store import anchor_object_store, anchor_versions
from erasure_platform.evidence.keys import evidence_key_id, evidence_public_key, evidence_signing_key
from erasure_platform.evidence.models import Report
from erasure_platform.evidence.services.anchors import STH_ANCHOR_PREFIX
from erasure_platform.evidence.services.transparency_log import audit_log_tree

# Beyond this many findings of one kind, only the count grows: one rewrite can touch every head.
FINDINGS_PER_KIND = 10


@dataclass
class AnchoredChainVerification:
    ok: bool
    chain: dict
    anchors_checked: int = 0
    last_anchor_sequence: int | None = None  # the largest anchored tree size
    findings: list[Finding] = field(default_factory=list)
    suppressed: dict = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return [str(finding) for finding in self.findings]

    def kinds(self) -> set[str]:
        return {finding.kind for finding in self.findings}

    def add(self, kind: str, message: str) -> None:
        self.ok = False
        self.chain["ok"] = False
        if sum(1 for finding in self.findings if finding.kind == kind) >= FINDINGS_PER_KIND:
            self.suppressed[kind] = self.suppressed.get(kind, 0) + 1
            return
        self.findings.append(Finding(kind, message))

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "chain": self.chain,
            "anchors_checked": self.anchors_checked,
            "last_anchor_sequence": self.last_anchor_sequence,
            "problems": self.problems,
            "findings": [finding.to_json() for finding in self.findings],
            "suppressed": self.suppressed,
        }


def _check_events(result: AnchoredChainVerification) -> list[bytes]:
    """Each event against its MAC and its leaf; returns the leaf hashes, in order, up to the first gap."""
    hashes: list[bytes] = []
    leaf_of: dict[int, tuple[int, str]] = {}
    rows = AuditLogLeaf.objects.order_by("leaf_index").values_list("leaf_index", "event_id", "leaf_hash")
    for expected, (index, event_id, digest) in enumerate(rows.iterator(chunk_size=5000)):
        if index != expected:
            result.add(
                Tampering.TRUNCATION, f"leaves {expected}..{index - 1} are missing: they were deleted from the log"
            )
            break
        hashes.append(bytes.fromhex(digest))
        leaf_of[event_id] = (index, digest)
    mac_key = audit_mac_key()
    checked = pending = 0
    for event in AuditEvent.objects.order_by("sequence").iterator(chunk_size=2000):
        content = audit_event_of(event)
        logged = leaf_of.get(event.sequence)
        broken = False
        if logged is not None and event_leaf_hash(content).hex() != logged[1]:
            broken = True
            result.add(
                Tampering.CHANGED_ROW,
                f"event #{event.sequence} (leaf {logged[0]}, {event.action}) was changed "
                "after it was logged: its content no longer hashes to its leaf",
            )
        elif not event_mac_valid(mac_key, content):
            broken = True
            result.add(
                Tampering.FORGED_EVENT,
                f"event #{event.sequence} ({event.action} by {event.actor}) has no valid "
                "MAC: it was written or altered without the platform's MAC key",
            )
        if broken and result.chain["first_broken_sequence"] is None:
            result.chain["first_broken_sequence"] = result.chain["first_broken_id"] = event.sequence
            result.chain["reason"] = result.findings[-1].message if result.findings else "event broken"
        pending += logged is None
        checked += 1
    result.chain["events_checked"] = checked
    result.chain["pending_events"] = pending
    return hashes


def _check_heads(result: AnchoredChainVerification, heads: list[TreeHead], tree: MerkleTree, source: str) -> None:
    for finding in tree_heads_against_leaves(heads, tree, source):
        result.add(finding.kind, finding.message)


def _database_heads(result: AnchoredChainVerification) -> list[TreeHead]:
    public_key = evidence_public_key()
    heads = []
    for row in SignedTreeHead.objects.order_by("timestamp_ms"):
        try:
            head = tree_head_verify(row.signed.encode("ascii"), public_key)
        except (EngineError, UnicodeEncodeError) as error:
            result.add(
                Tampering.INVALID_STH, f"database tree head at {row.timestamp_ms} ms is not validly signed: {error}"
            )
            continue
        if (head.tree_size, head.root_hex, head.timestamp_ms) != (row.tree_size, row.root_hash, row.timestamp_ms):
            result.add(
                Tampering.INVALID_STH,
                f"database tree head at {row.timestamp_ms} ms: its columns differ from what was signed",
            )
        heads.append(head)
    return heads


def _anchored_heads(result: AnchoredChainVerification) -> list[TreeHead]:
    public_key = evidence_public_key()
    by_key = defaultdict(list)
    for version in anchor_versions(anchor_object_store(), STH_ANCHOR_PREFIX):
        by_key[version.key].append(version)
    heads = []
    for key, versions in sorted(by_key.items()):
        markers = [v for v in versions if v.delete_marker]
        objects = [v for v in versions if not v.delete_marker]
        if markers:
            result.add(
                Tampering.ANCHOR_HIDDEN,
                f"anchor {key} is hidden behind {len(markers)} delete marker(s); "
                f"its {len(objects)} version(s) are still read here",
            )
        if len({v.data for v in objects}) > 1:
            result.add(
                Tampering.ANCHOR_OVERWRITTEN,
                f"anchor {key} was overwritten: {len(objects)} versions with "
                "different content; every version is checked",
            )
        for version in objects:
            try:
                heads.append(tree_head_verify(version.data, public_key))
            except EngineError as error:
                result.add(
                    Tampering.INVALID_STH,
                    f"anchor {key} (version {version.version_id}) is not a valid signed tree head: {error.message}",
                )
    return heads


def _check_cadence(result: AnchoredChainVerification, anchored: list[TreeHead], database: list[TreeHead]) -> None:
    """Anchors are due every interval while the log is active. A long gap with no tree head signed
    inside it is downtime (the dispatcher signs both); heads signed but not anchored are named."""
    max_gap_ms = settings.AUDIT_ANCHOR_MAX_GAP_SECONDS * 1000
    times = sorted({head.timestamp_ms for head in anchored})
    signed = sorted(head.timestamp_ms for head in database)
    for earlier, later in itertools.pairwise(times):
        unanchored = [t for t in signed if earlier + max_gap_ms < t < later]
        if unanchored:
            result.add(
                Tampering.ANCHOR_MISSING,
                f"no anchor between {earlier} and {later} ms although tree heads were "
                f"signed in between (first at {unanchored[0]} ms); one is due every "
                f"{settings.AUDIT_ANCHOR_INTERVAL_SECONDS} s: anchors were withheld",
            )
    if signed and times and signed[-1] - times[-1] > max_gap_ms:
        result.add(
            Tampering.ANCHOR_MISSING,
            f"the newest tree head ({signed[-1]} ms) is more than "
            f"{settings.AUDIT_ANCHOR_MAX_GAP_SECONDS} s younger than the newest anchor",
        )
    if signed and not times and signed[0] < time.time() * 1000 - max_gap_ms:
        result.add(Tampering.ANCHOR_MISSING, "tree heads were signed but none was ever anchored")


def audit_chain_verify_with_anchors() -> AnchoredChainVerification:
    """Every event against its MAC and leaf, every tree head (database and anchored versions) against
    the leaves, and the anchors' cadence; every problem found is named (Tampering)."""
    result = AnchoredChainVerification(
        ok=True,
        chain={
            "ok": True,
            "events_checked": 0,
            "pending_events": 0,
            "tree_size": 0,
            "head_hash": "",
            "first_broken_sequence": None,
            "first_broken_id": None,
            "reason": "",
        },
    )
    tree = MerkleTree(_check_events(result))
    result.chain["tree_size"] = len(tree)
    database = _database_heads(result)
    _check_heads(result, database, tree, "database")
    anchored = _anchored_heads(result)
    _check_heads(result, anchored, tree, "anchored")
    _check_cadence(result, anchored, database)
    result.anchors_checked = len(anchored)
    result.last_anchor_sequence = max((head.tree_size for head in anchored), default=None)
    latest = max(database, key=lambda head: head.timestamp_ms, default=None)
    result.chain["head_hash"] = latest.root_hex if latest else tree.root().hex()
    return result


def report_list(*, limit: int = 50):
    return list(Report.objects.select_related("job", "request").order_by("-created_at")[:limit])


def report_get(*, report_id):
    report = Report.objects.select_related("job", "request").filter(pk=report_id).first()
    if report is None:
        raise NotFound(f"report {report_id} does not exist")
    return report


def evidence_file(*, key: str) -> bytes:
    return platform_object_store().get_bytes(key)


def certificate_verification(*, data: bytes) -> dict:
    """Check a signed certificate's exact bytes against the platform's key; never raises."""
    try:
        signed = verify_document(data, evidence_public_key())
    except EngineError as error:
        return {"valid": False, "key_id": evidence_key_id(), "message": error.message}
    return {
        "valid": True,
        "key_id": signed.key_id,
        "message": f"Valid certificate, signed by key {signed.key_id}.",
        "document": signed.document,
    }


def tree_heads(*, after_ms: int = -1, limit: int = 100) -> list[dict]:
    """Signed tree heads, oldest first, as the signed JSON files (anyone may keep copies)."""
    rows = SignedTreeHead.objects.filter(timestamp_ms__gt=after_ms).order_by("timestamp_ms")[:limit]
    return [json.loads(row.signed) for row in rows]


def log_origin() -> str:
    """The log's name in its checkpoints (and its checkpoint key's name)."""
    return settings.AUDIT_LOG_ORIGIN or f"erasure-platform/audit-log/{evidence_key_id()[:16]}"


def log_checkpoint() -> str:
    """The newest signed tree head as a C2SP tlog-checkpoint, a signed note that standard tooling
    (Go's sumdb/note, transparency-dev's formats/log, witnesses) reads."""
    head = SignedTreeHead.objects.order_by("-timestamp_ms").first()
    if head is None:
        raise NotFound("no tree head has been signed yet")
    checkpoint = Checkpoint(log_origin(), head.tree_size, bytes.fromhex(head.root_hash))
    return checkpoint_sign(checkpoint, evidence_signing_key())


def log_checkpoint_key() -> str:
    """The note verifier key of the log's checkpoints ("<origin>+<key hash>+<base64 key>")."""
    return verifier_key(log_origin(), evidence_public_key())


def tree_head_latest_signed() -> dict:
    head = SignedTreeHead.objects.order_by("-timestamp_ms").first()
    if head is None:
        raise NotFound("no tree head has been signed yet")
    return json.loads(head.signed)


def _signed_size_limit(size: int) -> None:
    head = SignedTreeHead.objects.order_by("-tree_size").values_list("tree_size", flat=True).first()
    if head is None or size > head:
        raise NotFound(f"no signed tree head covers {size} events (largest: {head or 0})")


def log_inclusion_proof(*, leaf_index: int, tree_size: int) -> dict:
    _signed_size_limit(tree_size)
    if leaf_index >= tree_size:
        raise ApplicationError(f"leaf {leaf_index} is not in a tree of size {tree_size}")
    tree = audit_log_tree(tree_size)
    return {
        "leaf_index": leaf_index,
        "tree_size": tree_size,
        "leaf_hash": tree.leaves[leaf_index].hex(),
        "inclusion_proof": [h.hex() for h in tree.inclusion_proof(leaf_index, tree_size)],
    }


def log_consistency_proof(*, first: int, second: int) -> dict:
    _signed_size_limit(second)
    if first > second:
        raise ApplicationError(f"first ({first}) must not exceed second ({second})")
    tree = audit_log_tree(second)
    return {
        "first": first,
        "second": second,
        "consistency_proof": [h.hex() for h in tree.consistency_proof(first, second)],
    }


def log_leaf_hashes(*, start: int, end: int) -> dict:
    _signed_size_limit(end)
    rows = AuditLogLeaf.objects.filter(leaf_index__gte=start, leaf_index__lt=end).order_by("leaf_index")
    return {"start": start, "end": end, "leaf_hashes": list(rows.values_list("leaf_hash", flat=True))}
