"""Signed evidence that anyone can verify offline with the public key."""

from erasure_engine.evidence.log import (
    Finding,
    Tampering,
    TreeHead,
    event_leaf_hash,
    event_mac,
    event_mac_valid,
    tree_head_sign,
    tree_head_verify,
)
from erasure_engine.evidence.merkle import MerkleTree, frontier_append, root_from_frontier
from erasure_engine.evidence.note import (
    Checkpoint,
    NoteVerifier,
    checkpoint_open,
    checkpoint_sign,
    note_open,
    note_sign,
    verifier_key,
)
from erasure_engine.evidence.signing import (
    SignedDocument,
    generate_private_key_pem,
    key_id,
    load_private_key,
    load_public_key,
    public_key_pem,
    sign_document,
    verify_document,
)
from erasure_engine.evidence.transparency_checks import tree_heads_against_leaves

__all__ = [
    "Checkpoint",
    "NoteVerifier",
    "checkpoint_open",
    "checkpoint_sign",
    "note_open",
    "note_sign",
    "verifier_key",
    "SignedDocument",
    "generate_private_key_pem",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_key_pem",
    "sign_document",
    "verify_document",
    "Finding",
    "MerkleTree",
    "Tampering",
    "TreeHead",
    "event_leaf_hash",
    "event_mac",
    "event_mac_valid",
    "frontier_append",
    "root_from_frontier",
    "tree_head_sign",
    "tree_head_verify",
    "tree_heads_against_leaves",
]
