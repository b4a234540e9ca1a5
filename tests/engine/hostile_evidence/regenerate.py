"""Writes the hostile-evidence corpus beside this file (run from the repository root:
`python tests/engine/hostile_evidence/regenerate.py`). Every file is signed by the test-only key
`test-log-key.pem`, so the verifier gets past the signature to the shape it must refuse; each
file's expected answer is in `expected.json`. tests/engine/test_hostile_evidence.py reads them."""

from __future__ import annotations

import json
from pathlib import Path

from erasure_engine.evidence import generate_private_key_pem, key_id, load_private_key, sign_document
from erasure_engine.evidence.merkle import MerkleTree, leaf_hash
from erasure_engine.records import canonical_json

HERE = Path(__file__).resolve().parent
KEY_FILE = HERE / "test-log-key.pem"


def main() -> None:
    if not KEY_FILE.exists():
        KEY_FILE.write_bytes(generate_private_key_pem())
    key = load_private_key(KEY_FILE.read_bytes())
    other = load_private_key(generate_private_key_pem())
    tree = MerkleTree([leaf_hash(f"event-{i}".encode()) for i in range(5)])
    good = {
        "kind": "signed-tree-head",
        "schema_version": 1,
        "log_id": key_id(key.public_key()),
        "tree_size": 5,
        "root_hash": tree.root(5).hex(),
        "timestamp_ms": 1,
    }
    files: dict[str, bytes] = {}
    expected: dict[str, dict] = {}

    def sth(name: str, document: dict, error: str) -> None:
        files[name] = sign_document(document, key)
        expected[name] = {"check": "tree_head", "error": error}

    def resigned(name: str, change, error: str) -> None:
        """A validly signed head whose signature block is then changed (the bytes stay canonical)."""
        parsed = json.loads(sign_document(good, key))
        change(parsed["signature"])
        files[name] = canonical_json(parsed)
        expected[name] = {"check": "tree_head", "error": error}

    resigned("sth-signature-value-number.json", lambda s: s.update(value=5), "base64 text")
    resigned("sth-signature-value-null.json", lambda s: s.update(value=None), "base64 text")
    resigned("sth-signature-algorithm-missing.json", lambda s: s.pop("algorithm"), "unsupported signature algorithm")
    sth("sth-missing-log-id.json", {k: v for k, v in good.items() if k != "log_id"}, "names log None")
    sth("sth-log-id-of-another-key.json", {**good, "log_id": key_id(other.public_key())}, "but it is signed by key")
    sth("sth-tree-size-string.json", {**good, "tree_size": "5"}, "non-negative JSON integers")
    sth("sth-tree-size-float.json", {**good, "tree_size": 7.9}, "non-negative JSON integers")
    sth("sth-tree-size-true.json", {**good, "tree_size": True}, "non-negative JSON integers")
    sth("sth-tree-size-negative.json", {**good, "tree_size": -1}, "non-negative JSON integers")
    sth("sth-timestamp-string.json", {**good, "timestamp_ms": "1"}, "non-negative JSON integers")
    sth("sth-schema-version-99.json", {**good, "schema_version": 99}, "unknown tree head schema_version 99")
    sth("sth-schema-version-missing.json", {k: v for k, v in good.items() if k != "schema_version"}, "schema_version")
    sth("sth-root-short.json", {**good, "root_hash": "ab" * 16}, "64 lowercase hex digits")
    sth("sth-root-uppercase.json", {**good, "root_hash": tree.root(5).hex().upper()}, "64 lowercase hex digits")
    sth("sth-root-number.json", {**good, "root_hash": 12}, "64 lowercase hex digits")
    sth("sth-empty-tree-wrong-root.json", {**good, "tree_size": 0}, "empty tree's root")
    sth("sth-kind-other.json", {**good, "kind": "certificate"}, "not a signed tree head")
    files["sth-not-json.json"] = b'{"document": {"kind": "signed-tree-head"'
    expected["sth-not-json.json"] = {"check": "tree_head", "error": "not valid JSON"}
    files["sth-deep.json"] = b"[" * 5000 + b"]" * 5000
    expected["sth-deep.json"] = {"check": "tree_head", "error": "nests deeper than"}
    files["sth-not-utf8.json"] = b'{"document": "\xff\xfe"}'
    expected["sth-not-utf8.json"] = {"check": "tree_head", "error": "not UTF-8"}

    head = json.loads(sign_document(good, key))
    event = {"action": "request.completed", "entity_id": "r1"}

    def certificate(name: str, transparency, finding: str) -> None:
        files[name] = sign_document({"kind": "certificate", "transparency": transparency}, key)
        expected[name] = {"check": "certificate", "finding": finding}

    certificate("certificate-transparency-a-list.json", [1, 2], "invalid_proof")
    certificate("certificate-events-a-string.json", {"sth": head, "events": "x"}, "invalid_proof")
    certificate("certificate-entry-a-string.json", {"sth": head, "events": ["x"]}, "invalid_proof")
    certificate(
        "certificate-leaf-index-string.json",
        {"sth": head, "events": [{"event": event, "leaf_index": "3", "inclusion_proof": []}]},
        "invalid_proof",
    )
    certificate(
        "certificate-proof-hash-short.json",
        {"sth": head, "events": [{"event": event, "leaf_index": 0, "inclusion_proof": ["ab"]}]},
        "invalid_proof",
    )
    certificate(
        "certificate-proof-not-a-list.json",
        {"sth": head, "events": [{"event": event, "leaf_index": 0, "inclusion_proof": 7}]},
        "invalid_proof",
    )
    certificate("certificate-sth-a-string.json", {"sth": "x", "events": []}, "invalid_sth")
    files["export-leaf-hash-short.json"] = canonical_json({"sths": [head], "leaf_hashes": ["ab"]})
    expected["export-leaf-hash-short.json"] = {"check": "export", "error": "64 lowercase hex digits"}
    files["export-sths-not-a-list.json"] = canonical_json({"sths": "x", "leaf_hashes": []})
    expected["export-sths-not-a-list.json"] = {"check": "export", "error": "a log export is"}
    files["export-bad-sth.json"] = canonical_json(
        {"sths": [{**head, "signature": {**head["signature"], "value": None}}], "leaf_hashes": []}
    )
    expected["export-bad-sth.json"] = {"check": "export", "finding": "invalid_sth"}

    for name, data in files.items():
        (HERE / name).write_bytes(data)
    (HERE / "expected.json").write_text(json.dumps(expected, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
