"""C2SP signed notes and checkpoints against the Go implementation's own vectors
(tests/engine/vectors/sumdb_note.json, from golang.org/x/mod's sumdb/note tests): our signer
writes byte for byte the note Go writes for the same key and text, our verifier accepts Go's
signatures and refuses what Go refuses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from erasure_engine.errors import InvalidInput
from erasure_engine.evidence import generate_private_key_pem, load_private_key
from erasure_engine.evidence.merkle import MerkleTree, leaf_hash
from erasure_engine.evidence.note import (
    Checkpoint,
    NoteVerifier,
    checkpoint_open,
    checkpoint_sign,
    note_open,
    note_sign,
    signer_from_key,
    verifier_key,
)
from erasure_engine.evidence.signing import SignatureInvalid

VECTORS = json.loads((Path(__file__).resolve().parent / "vectors" / "sumdb_note.json").read_text(encoding="utf-8"))
TEXT = VECTORS["text"]


def test_signing_gives_go_s_note_byte_for_byte():
    name, private_key = signer_from_key(VECTORS["peter_signer_key"])
    assert name == "PeterNeumann"
    assert verifier_key(name, private_key.public_key()) == VECTORS["peter_verifier_key"]
    assert note_sign(TEXT, name, private_key) == TEXT + "\n" + VECTORS["peter_signature_line"]


def test_go_s_signatures_verify_and_unknown_keys_are_kept_aside():
    peter = NoteVerifier.parse(VECTORS["peter_verifier_key"])
    enoch = NoteVerifier.parse(VECTORS["enoch_verifier_key"])
    message = TEXT + "\n" + VECTORS["peter_signature_line"] + VECTORS["enoch_signature_line"]
    opened = note_open(message, [peter])
    assert opened.text == TEXT and opened.signed_by == ("PeterNeumann",)
    assert opened.unknown == (VECTORS["enoch_signature_line"].rstrip("\n"),)
    assert note_open(message, [peter, enoch]).signed_by == ("PeterNeumann", "EnochRoot")
    with pytest.raises(SignatureInvalid, match="no given key"):
        note_open(message, [NoteVerifier.of("Other", load_private_key(generate_private_key_pem()).public_key())])


def test_what_go_refuses_is_refused():
    peter = NoteVerifier.parse(VECTORS["peter_verifier_key"])
    for key in VECTORS["bad_verifier_keys"]:
        with pytest.raises(InvalidInput):
            NoteVerifier.parse(key)
    for message in VECTORS["malformed_messages"]:
        with pytest.raises(InvalidInput, match="malformed note"):
            note_open(message, [peter])
    line = VECTORS["peter_signature_line"]
    with pytest.raises(SignatureInvalid, match="invalid signature for key PeterNeumann\\+c74f20a3"):
        note_open(TEXT + "\n" + line[:60] + "ABCD" + line[60:], [peter])
    with pytest.raises(InvalidInput, match="malformed note"):
        note_open(TEXT + "\n" + line * 101, [peter])


def test_a_checkpoint_round_trips_and_binds_its_origin_to_the_key():
    key = load_private_key(generate_private_key_pem())
    tree = MerkleTree([leaf_hash(f"event-{i}".encode()) for i in range(7)])
    checkpoint = Checkpoint("erasure.example/audit-log", 7, tree.root())
    signed = checkpoint_sign(checkpoint, key)
    assert signed.splitlines()[:3] == ["erasure.example/audit-log", "7", checkpoint.text().split("\n")[2]]
    assert checkpoint_open(signed, NoteVerifier.of("erasure.example/audit-log", key.public_key())) == checkpoint
    with pytest.raises(SignatureInvalid):
        checkpoint_open(
            signed.replace("\n7\n", "\n8\n"), NoteVerifier.of("erasure.example/audit-log", key.public_key())
        )
    other_origin = checkpoint_sign(Checkpoint("elsewhere.example/log", 7, tree.root()), key)
    with pytest.raises(SignatureInvalid):
        checkpoint_open(other_origin, NoteVerifier.of("erasure.example/audit-log", key.public_key()))
    for text in (
        "origin\n07\nAAAA\n",
        "origin\n7\n" + "QQ==" + "\n",
        "\n7\n" + checkpoint.text().split("\n")[2] + "\n",
    ):
        with pytest.raises(InvalidInput):
            Checkpoint.parse(text)
