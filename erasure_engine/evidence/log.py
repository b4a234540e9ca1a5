"""The audit transparency log's formats, shared by the platform and offline verifiers.

- An event is a JSON object; its canonical bytes are RFC 8785 (JCS) JSON.
- Each event carries `mac`: HMAC-SHA256 over the canonical event without `mac`, keyed with a
  secret that lives in the platform's environment, never in the database.
- The log's leaf for an event is leaf_hash(canonical event including its `mac`).
- A signed tree head (STH) is a signed document (see signing.py) over
  {"kind": "signed-tree-head", "tree_size", "root_hash", "timestamp_ms", "log_id"}.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from erasure_engine.errors import InvalidInput
from erasure_engine.evidence.merkle import EMPTY_ROOT, leaf_hash, verify_consistency, verify_inclusion
from erasure_engine.evidence.signing import SignatureInvalid, key_id, sign_document, verify_document

STH_KIND = "signed-tree-head"


class Tampering:
    """Names of what a verifier can find; every finding carries one of them."""

    CHANGED_ROW = "changed_row"
    FORGED_EVENT = "forged_event"
    CONSISTENT_REWRITE = "consistent_rewrite"
    TRUNCATION = "truncation"
    STH_ROLLBACK = "sth_rollback"
    INVALID_STH = "invalid_sth"
    INCONSISTENT_STH = "inconsistent_sth"
    ANCHOR_HIDDEN = "anchor_hidden"
    ANCHOR_OVERWRITTEN = "anchor_overwritten"
    ANCHOR_MISSING = "anchor_missing"
    UNLOGGED_EVENT = "unlogged_event"
    INVALID_PROOF = "invalid_proof"


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"

    def to_json(self) -> dict:
        return {"kind": self.kind, "message": self.message}


def canonical_event(event: dict) -> bytes:
    try:
        return rfc8785.dumps(event)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as error:
        raise InvalidInput(f"an audit event must be plain JSON (RFC 8785): {error}") from None


def event_mac(mac_key: bytes, event: dict) -> str:
    body = {name: value for name, value in event.items() if name != "mac"}
    return hmac.new(mac_key, canonical_event(body), hashlib.sha256).hexdigest()


def event_mac_valid(mac_key: bytes, event: dict) -> bool:
    return isinstance(event.get("mac"), str) and hmac.compare_digest(event_mac(mac_key, event), event["mac"])


def event_leaf_hash(event: dict) -> bytes:
    return leaf_hash(canonical_event(event))


@dataclass(frozen=True)
class TreeHead:
    tree_size: int
    root_hash: bytes
    timestamp_ms: int
    log_id: str
    signed: bytes  # the exact signed file

    @property
    def root_hex(self) -> str:
        return self.root_hash.hex()

    def describe(self) -> str:
        return f"STH(size {self.tree_size}, root {self.root_hex[:16]}…, at {self.timestamp_ms} ms)"


def tree_head_sign(*, tree_size: int, root_hash: bytes, timestamp_ms: int, private_key: Ed25519PrivateKey) -> TreeHead:
    log_id = key_id(private_key.public_key())
    document = {
        "kind": STH_KIND,
        "schema_version": 1,
        "log_id": log_id,
        "tree_size": tree_size,
        "root_hash": root_hash.hex(),
        "timestamp_ms": timestamp_ms,
    }
    return TreeHead(tree_size, root_hash, timestamp_ms, log_id, sign_document(document, private_key))


STH_SCHEMA_VERSIONS = (1,)
_HASH_HEX = re.compile(r"[0-9a-f]{64}")


def tree_head_verify(data: bytes, public_key: Ed25519PublicKey) -> TreeHead:
    """Check an STH file's signature and shape, strictly: JSON integers (not "5", 7.9 or true), a
    known schema version, a 64-hex root (the empty tree's for size 0), and a log_id naming the key
    that signed it. Raise SignatureInvalid saying what is wrong, never another error."""
    document = verify_document(data, public_key).document
    if not isinstance(document, dict) or document.get("kind") != STH_KIND:
        kind = document.get("kind") if isinstance(document, dict) else type(document).__name__
        raise SignatureInvalid(f"not a signed tree head: kind is {kind!r:.40}")
    version = document.get("schema_version")
    if type(version) is not int or version not in STH_SCHEMA_VERSIONS:
        raise SignatureInvalid(
            f"unknown tree head schema_version {version!r:.20}: this verifier reads {STH_SCHEMA_VERSIONS}"
        )
    size, timestamp, root_hex = document.get("tree_size"), document.get("timestamp_ms"), document.get("root_hash")
    if type(size) is not int or size < 0 or type(timestamp) is not int or timestamp < 0:
        raise SignatureInvalid("a signed tree head's tree_size and timestamp_ms must be non-negative JSON integers")
    if not isinstance(root_hex, str) or not _HASH_HEX.fullmatch(root_hex):
        raise SignatureInvalid("a signed tree head's root_hash must be 64 lowercase hex digits (SHA-256)")
    root = bytes.fromhex(root_hex)
    if size == 0 and root != EMPTY_ROOT:
        raise SignatureInvalid("a signed tree head of size 0 must carry the empty tree's root")
    expected = key_id(public_key)
    if document.get("log_id") != expected:
        raise SignatureInvalid(
            f"the tree head names log {document.get('log_id')!r:.80}, but it is signed by key {expected!r}"
        )
    return TreeHead(size, root, timestamp, expected, data)


def hashes_from_hex(values: Iterable[str]) -> list[bytes]:
    """A list of 64-hex-digit SHA-256 hashes as bytes; anything else is InvalidInput."""
    if not isinstance(values, list | tuple):
        raise InvalidInput("proof hashes must be a list of hex strings")
    if not all(isinstance(value, str) and _HASH_HEX.fullmatch(value) for value in values):
        raise InvalidInput("proof hashes must be 64 lowercase hex digits each (SHA-256)")
    return [bytes.fromhex(value) for value in values]


def event_inclusion_check(event: dict, *, leaf_index: int, proof_hex: Sequence[str], head: TreeHead) -> Finding | None:
    """None if `event` is leaf `leaf_index` of the tree the STH `head` signs."""
    if verify_inclusion(event_leaf_hash(event), leaf_index, head.tree_size, hashes_from_hex(proof_hex), head.root_hash):
        return None
    return Finding(
        Tampering.INVALID_PROOF,
        f"event at leaf {leaf_index} ({event.get('action')!r}) is not in the tree of {head.describe()}: "
        "the event or its proof was altered, or the log was rewritten",
    )


def tree_heads_consistency_check(older: TreeHead, newer: TreeHead, proof_hex: Sequence[str]) -> Finding | None:
    """None if `newer` extends `older` (append-only); otherwise name the tampering."""
    for head in (older, newer):
        if head.tree_size == 0 and head.root_hash != EMPTY_ROOT:
            return Finding(
                Tampering.INVALID_STH, f"{head.describe()} is empty but does not carry the empty tree's root"
            )
    if older.tree_size == 0:
        return None  # every tree extends the empty one: there is nothing to prove
    if newer.tree_size < older.tree_size:
        return Finding(
            Tampering.STH_ROLLBACK,
            f"the tree shrank: {older.describe()} was followed by {newer.describe()}",
        )
    if not verify_consistency(
        older.tree_size, newer.tree_size, older.root_hash, newer.root_hash, hashes_from_hex(proof_hex)
    ):
        return Finding(
            Tampering.INCONSISTENT_STH,
            f"{newer.describe()} does not extend {older.describe()}: history before size {older.tree_size} was rewritten",
        )
    return None
