"""Hostile evidence files (tests/engine/hostile_evidence/, signed by a test-only key so the
verifier reaches the shape it must refuse) are refused with the engine's typed error or named as
a finding — never an uncaught exception — by the library and by `erasure-engine verify-log`;
and the Merkle verifiers refuse what transparency-dev's refuse."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from erasure_engine.cli import main
from erasure_engine.errors import EngineError, InvalidInput
from erasure_engine.evidence import load_private_key, public_key_pem, tree_head_sign, verify_document
from erasure_engine.evidence.log import Tampering, TreeHead, tree_head_verify, tree_heads_consistency_check
from erasure_engine.evidence.merkle import EMPTY_ROOT, MerkleTree, leaf_hash, verify_consistency, verify_inclusion
from erasure_engine.evidence.transparency_checks import certificate_transparency_check, log_export_check

CORPUS = Path(__file__).resolve().parent / "hostile_evidence"
EXPECTED = json.loads((CORPUS / "expected.json").read_text())
KEY = load_private_key((CORPUS / "test-log-key.pem").read_bytes())
TREE = MerkleTree([leaf_hash(f"event-{i}".encode()) for i in range(5)])


def test_the_corpus_is_complete():
    on_disk = {path.name for path in CORPUS.glob("*.json")} - {"expected.json"}
    assert on_disk == set(EXPECTED) and len(EXPECTED) >= 30


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_hostile_file_is_refused_or_named_never_raised(name):
    data, case = (CORPUS / name).read_bytes(), EXPECTED[name]
    public_key = KEY.public_key()
    if case["check"] == "tree_head":
        with pytest.raises(EngineError, match=case["error"].replace("(", r"\(")):
            tree_head_verify(data, public_key)
    elif case["check"] == "certificate":
        findings, _ = certificate_transparency_check(verify_document(data, public_key).document, public_key)
        assert [finding.kind for finding in findings][:1] == [case["finding"]], findings
    else:
        export = json.loads(data)
        if "error" in case:
            with pytest.raises(InvalidInput, match=case["error"]):
                log_export_check(export, public_key)
        else:
            findings, _ = log_export_check(export, public_key)
            assert [finding.kind for finding in findings] == [case["finding"]]


@pytest.mark.parametrize("name", sorted(n for n, case in EXPECTED.items() if case["check"] == "tree_head"))
def test_the_cli_refuses_each_hostile_tree_head_with_exit_2(name, tmp_path, capsys):
    key_file = tmp_path / "log.pem"
    key_file.write_bytes(public_key_pem(KEY))
    good = tree_head_sign(tree_size=5, root_hash=TREE.root(5), timestamp_ms=2, private_key=KEY)
    (tmp_path / "new.json").write_bytes(good.signed)
    (tmp_path / "proof.json").write_text(json.dumps({"consistency_proof": []}))
    code = main(
        ["verify-log", "--public-key", str(key_file), "--old", str(CORPUS / name), "--new", str(tmp_path / "new.json")]
        + ["--consistency-proof", str(tmp_path / "proof.json")]
    )
    assert code == 2 and capsys.readouterr().err.startswith("error [")


def test_consistency_from_the_empty_tree_and_hashes_of_the_wrong_length_are_refused():
    with pytest.raises(InvalidInput, match="empty tree is meaningless"):
        verify_consistency(0, 5, b"junk" * 8, TREE.root(5), [])
    with pytest.raises(InvalidInput, match="32-byte"):
        verify_inclusion(b"", 0, 1, [], b"")
    with pytest.raises(InvalidInput, match="32-byte"):
        verify_inclusion(leaf_hash(b"event-0"), 0, 5, [b"short"], TREE.root(5))
    with pytest.raises(InvalidInput, match="non-negative integer"):
        verify_inclusion(leaf_hash(b"event-0"), True, 5, TREE.inclusion_proof(0, 5), TREE.root(5))
    with pytest.raises(InvalidInput, match="non-negative integer"):
        verify_consistency(2.0, 5, TREE.root(2), TREE.root(5), TREE.consistency_proof(2, 5))
    assert verify_inclusion(leaf_hash(b"event-0"), 0, 5, TREE.inclusion_proof(0, 5), TREE.root(5))
    assert verify_consistency(2, 5, TREE.root(2), TREE.root(5), TREE.consistency_proof(2, 5))


def test_an_empty_head_with_a_wrong_root_is_named_and_a_right_one_is_extended_by_anything():
    later = tree_head_sign(tree_size=5, root_hash=TREE.root(5), timestamp_ms=2, private_key=KEY)
    forged = TreeHead(0, b"\x00" * 32, 1, later.log_id, b"")
    finding = tree_heads_consistency_check(forged, later, [])
    assert finding is not None and finding.kind == Tampering.INVALID_STH
    empty = tree_head_sign(tree_size=0, root_hash=EMPTY_ROOT, timestamp_ms=1, private_key=KEY)
    assert tree_heads_consistency_check(empty, later, []) is None
