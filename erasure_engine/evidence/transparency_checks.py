"""Offline checks a third party runs on what the platform hands out: a certificate's log proofs,
a log export, and a pair of signed tree heads."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from erasure_engine.errors import EngineError, InvalidInput
from erasure_engine.evidence.log import (
    Finding,
    Tampering,
    TreeHead,
    event_inclusion_check,
    hashes_from_hex,
    tree_head_verify,
    tree_heads_consistency_check,
)
from erasure_engine.evidence.merkle import MerkleTree
from erasure_engine.records import canonical_json

__all__ = [
    "certificate_transparency_check",
    "log_export_check",
    "signed_tree_head_from_json",
    "tree_heads_against_leaves",
    "tree_heads_consistency_check",
]


def signed_tree_head_from_json(value, public_key: Ed25519PublicKey) -> TreeHead:
    """A signed tree head given as parsed JSON ({"document", "signature"}), checked."""
    if not isinstance(value, dict):
        raise InvalidInput("a signed tree head is a JSON object with 'document' and 'signature'")
    # Signed files are canonical JSON, so re-serialising the parsed object gives the signed bytes back.
    return tree_head_verify(canonical_json(value), public_key)


def certificate_transparency_check(
    document: dict, public_key: Ed25519PublicKey
) -> tuple[list[Finding], TreeHead | None]:
    """Every embedded event must be included in the embedded, validly signed tree head. A malformed
    section or entry is a finding (never an exception: the file may come from anyone)."""
    if not isinstance(document, dict):
        return [Finding(Tampering.INVALID_PROOF, "the certificate's document is not a JSON object")], None
    transparency = document.get("transparency")
    if transparency is None:
        return [], None
    if not isinstance(transparency, dict) or not isinstance(transparency.get("events", []), list):
        return [Finding(Tampering.INVALID_PROOF, "the certificate's transparency section is malformed")], None
    try:
        head = signed_tree_head_from_json(transparency.get("sth"), public_key)
    except EngineError as error:
        return [Finding(Tampering.INVALID_STH, f"the certificate's tree head: {error.message}")], None
    findings = []
    for number, entry in enumerate(transparency.get("events", [])):
        if (
            not isinstance(entry, dict)
            or not isinstance(entry.get("event"), dict)
            or type(entry.get("leaf_index")) is not int
        ):
            findings.append(
                Finding(
                    Tampering.INVALID_PROOF, f"proof entry #{number} needs an event object and an integer leaf_index"
                )
            )
            continue
        try:
            finding = event_inclusion_check(
                entry["event"], leaf_index=entry["leaf_index"], proof_hex=entry.get("inclusion_proof"), head=head
            )
        except EngineError as error:
            finding = Finding(Tampering.INVALID_PROOF, f"proof entry #{number} is malformed: {error.message}")
        if finding:
            findings.append(finding)
    return findings, head


def log_export_check(export: dict, public_key: Ed25519PublicKey) -> tuple[list[Finding], list[TreeHead]]:
    """Recompute every exported tree head's root from the exported leaves, in time order."""
    if (
        not isinstance(export, dict)
        or not isinstance(export.get("sths"), list)
        or not isinstance(export.get("leaf_hashes"), list)
    ):
        raise InvalidInput('a log export is {"sths": [...], "leaf_hashes": [...]}')
    tree = MerkleTree(hashes_from_hex(export["leaf_hashes"]))
    findings, heads = [], []
    for index, value in enumerate(export["sths"]):
        try:
            heads.append(signed_tree_head_from_json(value, public_key))
        except EngineError as error:
            findings.append(Finding(Tampering.INVALID_STH, f"tree head #{index} of the export: {error.message}"))
    return findings + tree_heads_against_leaves(heads, tree, "exported"), heads


def tree_heads_against_leaves(heads: list[TreeHead], tree: MerkleTree, source: str) -> list[Finding]:
    """In time order, tree heads must never shrink and each must be the root of that many leaves."""
    findings, previous = [], None
    for head in sorted(heads, key=lambda h: h.timestamp_ms):
        if previous is not None and head.tree_size < previous.tree_size:
            findings.append(
                Finding(
                    Tampering.STH_ROLLBACK,
                    f"{source} {head.describe()} is smaller than the earlier "
                    f"{previous.describe()}: the log was rolled back",
                )
            )
        if head.tree_size > len(tree):
            findings.append(
                Finding(
                    Tampering.TRUNCATION,
                    f"{source} {head.describe()} covers {head.tree_size} leaves but "
                    f"the log holds {len(tree)}: leaves were removed from the end",
                )
            )
        elif tree.root(head.tree_size) != head.root_hash:
            findings.append(
                Finding(
                    Tampering.CONSISTENT_REWRITE,
                    f"history rewritten: the first {head.tree_size} leaves "
                    f"no longer hash to the root of the {source} {head.describe()}",
                )
            )
        previous = head
    return findings
