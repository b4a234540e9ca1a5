"""The Merkle log primitives against a literal transcription of RFC 9162's definitions."""

import hashlib

import pytest

from erasure_engine.errors import InvalidInput
from erasure_engine.evidence import generate_private_key_pem, load_private_key
from erasure_engine.evidence.log import (
    Tampering,
    event_mac,
    event_mac_valid,
    tree_head_sign,
    tree_head_verify,
    tree_heads_consistency_check,
)
from erasure_engine.evidence.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    frontier_append,
    leaf_hash,
    root_from_frontier,
    verify_consistency,
    verify_inclusion,
)
from erasure_engine.evidence.signing import SignatureInvalid


def _k(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(d):  # RFC 9162 2.1.1, verbatim
    if not d:
        return hashlib.sha256(b"").digest()
    if len(d) == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = _k(len(d))
    return hashlib.sha256(b"\x01" + mth(d[:k]) + mth(d[k:])).digest()


def path(m, d):  # RFC 9162 2.1.3.1
    if len(d) == 1:
        return []
    k = _k(len(d))
    return path(m, d[:k]) + [mth(d[k:])] if m < k else path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m, d, b):  # RFC 9162 2.1.4.1
    if m == len(d):
        return [] if b else [mth(d)]
    k = _k(len(d))
    return subproof(m, d[:k], b) + [mth(d[k:])] if m <= k else subproof(m - k, d[k:], False) + [mth(d[:k])]


DATA = [f"event-{i}".encode() for i in range(37)]
TREE = MerkleTree([leaf_hash(d) for d in DATA])


def test_roots_match_the_rfc_definition_for_every_size():
    assert TREE.root(0) == EMPTY_ROOT
    for n in range(1, len(DATA) + 1):
        assert TREE.root(n) == mth(DATA[:n])


def test_frontier_appends_reach_the_same_roots():
    frontier = []
    for n, data in enumerate(DATA):
        frontier = frontier_append(frontier, n, leaf_hash(data))
        assert root_from_frontier(frontier) == mth(DATA[: n + 1])
        assert len(frontier) == bin(n + 1).count("1")


def test_every_inclusion_proof_matches_the_rfc_and_verifies():
    for n in range(1, len(DATA) + 1):
        root = TREE.root(n)
        for m in range(n):
            proof = TREE.inclusion_proof(m, n)
            assert proof == path(m, DATA[:n])
            assert verify_inclusion(leaf_hash(DATA[m]), m, n, proof, root)
            assert not verify_inclusion(leaf_hash(b"forged"), m, n, proof, root)
            if n > 1:
                assert not verify_inclusion(leaf_hash(DATA[m]), (m + 1) % n, n, proof, root)
            if proof:
                bent = [proof[0][:-1] + bytes([proof[0][-1] ^ 1]), *proof[1:]]
                assert not verify_inclusion(leaf_hash(DATA[m]), m, n, bent, root)


def test_every_consistency_proof_matches_the_rfc_and_verifies():
    for n in range(1, len(DATA) + 1):
        for m in range(1, n + 1):
            proof = TREE.consistency_proof(m, n)
            assert proof == (subproof(m, DATA[:n], True) if m < n else [])
            assert verify_consistency(m, n, TREE.root(m), TREE.root(n), proof)
            if m < n:
                assert not verify_consistency(m, n, mth([b"rewritten"] + DATA[1:m]), TREE.root(n), proof)
                assert not verify_consistency(m, n, TREE.root(m), mth(DATA[: n - 1] + [b"x"]), proof)
                assert not verify_consistency(m, n, TREE.root(m), TREE.root(n), proof[:-1])


def test_out_of_range_requests_are_refused():
    with pytest.raises(InvalidInput):
        TREE.inclusion_proof(5, 5)
    with pytest.raises(InvalidInput):
        TREE.consistency_proof(6, 5)
    with pytest.raises(InvalidInput):
        TREE.root(len(DATA) + 1)
    assert not verify_inclusion(leaf_hash(DATA[0]), 0, 0, [], EMPTY_ROOT)


def test_mac_depends_on_key_and_every_field():
    event = {"action": "request.completed", "actor": "user:officer", "data": {"x": 1.0}}
    event["mac"] = event_mac(b"k" * 32, event)
    assert event_mac_valid(b"k" * 32, event)
    assert not event_mac_valid(b"j" * 32, event)
    assert not event_mac_valid(b"k" * 32, {**event, "actor": "user:mallory"})
    assert not event_mac_valid(b"k" * 32, {name: v for name, v in event.items() if name != "mac"})


def test_signed_tree_heads_verify_and_name_rollback_and_rewrite():
    key = load_private_key(generate_private_key_pem())
    old = tree_head_sign(tree_size=5, root_hash=TREE.root(5), timestamp_ms=1, private_key=key)
    new = tree_head_sign(tree_size=9, root_hash=TREE.root(9), timestamp_ms=2, private_key=key)
    assert tree_head_verify(new.signed, key.public_key()).root_hash == TREE.root(9)
    with pytest.raises(SignatureInvalid):
        tree_head_verify(new.signed.replace(b'"tree_size":9', b'"tree_size":8'), key.public_key())
    with pytest.raises(SignatureInvalid):
        tree_head_verify(new.signed, load_private_key(generate_private_key_pem()).public_key())
    proof = [h.hex() for h in TREE.consistency_proof(5, 9)]
    assert tree_heads_consistency_check(old, new, proof) is None
    assert tree_heads_consistency_check(new, old, []).kind == Tampering.STH_ROLLBACK
    rewritten = MerkleTree([leaf_hash(b"rewritten")] + TREE.leaves[1:])
    forged = tree_head_sign(tree_size=9, root_hash=rewritten.root(9), timestamp_ms=3, private_key=key)
    forged_proof = [h.hex() for h in rewritten.consistency_proof(5, 9)]
    assert tree_heads_consistency_check(old, forged, forged_proof).kind == Tampering.INCONSISTENT_STH


def test_verify_log_cli_checks_two_kept_heads(tmp_path, capsys):
    import json

    from erasure_engine.cli import main
    from erasure_engine.evidence import public_key_pem

    key = load_private_key(generate_private_key_pem())
    (tmp_path / "k.pem").write_bytes(public_key_pem(key))
    old = tree_head_sign(tree_size=6, root_hash=TREE.root(6), timestamp_ms=1, private_key=key)
    new = tree_head_sign(tree_size=20, root_hash=TREE.root(20), timestamp_ms=2, private_key=key)
    (tmp_path / "old.json").write_bytes(old.signed)
    (tmp_path / "new.json").write_bytes(new.signed)
    proof = {"first": 6, "second": 20, "consistency_proof": [h.hex() for h in TREE.consistency_proof(6, 20)]}
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    args = [
        "verify-log",
        "--public-key",
        str(tmp_path / "k.pem"),
        "--old",
        str(tmp_path / "old.json"),
        "--new",
        str(tmp_path / "new.json"),
        "--consistency-proof",
        str(tmp_path / "proof.json"),
    ]
    assert main(args) == 0 and "CONSISTENT" in capsys.readouterr().out
    # Swapped: the "new" head is older and smaller — a rollback.
    swapped = [
        {
            str(tmp_path / "old.json"): str(tmp_path / "new.json"),
            str(tmp_path / "new.json"): str(tmp_path / "old.json"),
        }.get(a, a)
        for a in args
    ]
    assert main(swapped) == 1 and "TAMPERED sth_rollback" in capsys.readouterr().out
    proof["consistency_proof"][0] = "00" * 32
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    assert main(args) == 1 and "TAMPERED inconsistent_sth" in capsys.readouterr().out
    assert main(["verify-log", "--public-key", str(tmp_path / "k.pem"), "--old", str(tmp_path / "old.json")]) == 2
