"""C2SP signed notes and tlog checkpoints: the log's tree heads in the format standard tooling
reads (Go's golang.org/x/mod/sumdb/note, transparency-dev's formats/log, witnesses).

- A signed note is UTF-8 text ending in a newline, a blank line, then one line per signature:
  "— <key name> <base64(key hash (4 bytes, big-endian) || Ed25519 signature)>". The key hash is
  the first 4 bytes of SHA-256(key name || "\\n" || 0x01 || the 32-byte public key); a verifier key
  is written "<name>+<key hash as 8 hex digits>+<base64(0x01 || public key)>".
- A checkpoint (C2SP tlog-checkpoint) is the note text "<origin>\\n<tree size>\\n<base64 root>\\n",
  signed with the log's key under the origin as its name.

Everything read here may come from anyone: malformed input is InvalidInput, a bad signature
SignatureInvalid, never another exception. Tested against the Go implementation's own vectors."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from erasure_engine.errors import InvalidInput
from erasure_engine.evidence.signing import SignatureInvalid

ED25519 = 0x01
SIGNATURE_PREFIX = "— "  # an em dash and a space
MAX_SIGNATURES = 100
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _valid_name(name: str) -> bool:
    return bool(name) and not any(character.isspace() for character in name) and "+" not in name


def _public_bytes(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def note_key_hash(name: str, public_key: Ed25519PublicKey) -> int:
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([ED25519]) + _public_bytes(public_key)).digest()
    return struct.unpack(">I", digest[:4])[0]


def verifier_key(name: str, public_key: Ed25519PublicKey) -> str:
    """The key a verifier configures, as sumdb/note writes it."""
    if not _valid_name(name):
        raise InvalidInput(f"a note key name has no spaces and no '+': {name!r}")
    encoded = base64.b64encode(bytes([ED25519]) + _public_bytes(public_key)).decode()
    return f"{name}+{note_key_hash(name, public_key):08x}+{encoded}"


def signer_from_key(key: str) -> tuple[str, Ed25519PrivateKey]:
    """(name, private key) from a sumdb/note signer key "PRIVATE+KEY+<name>+<hash>+<base64(0x01||seed)>"."""
    parts = key.split("+", 4)  # base64 may hold '+': the key is everything after the fourth
    if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
        raise InvalidInput("a note signer key reads PRIVATE+KEY+<name>+<hash>+<key>")
    name, hash_hex, encoded = parts[2:]
    material = _decode(encoded, "signer key")
    if not _valid_name(name) or len(material) != 33 or material[0] != ED25519:
        raise InvalidInput("malformed note signer key")
    private_key = Ed25519PrivateKey.from_private_bytes(material[1:])
    if hash_hex != f"{note_key_hash(name, private_key.public_key()):08x}":
        raise InvalidInput("the note signer key's hash does not match its key")
    return name, private_key


@dataclass(frozen=True)
class NoteVerifier:
    name: str
    key_hash: int
    public_key: Ed25519PublicKey

    @classmethod
    def parse(cls, key: str) -> NoteVerifier:
        """A verifier key "<name>+<hash>+<base64(0x01 || public key)>", refused when anything is off."""
        if not isinstance(key, str):
            raise InvalidInput("a note verifier key is text")
        parts = key.split("+", 2)  # base64 may hold '+': the key is everything after the second
        if len(parts) != 3:
            raise InvalidInput("a note verifier key reads <name>+<hash>+<key>")
        name, hash_hex, encoded = parts
        material = _decode(encoded, "verifier key")
        if not _valid_name(name) or not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise InvalidInput("malformed note verifier key")
        if len(material) != 33 or material[0] != ED25519:
            raise InvalidInput("a note verifier key must be an Ed25519 key (algorithm 0x01, 32 bytes)")
        public_key = Ed25519PublicKey.from_public_bytes(material[1:])
        if int(hash_hex, 16) != note_key_hash(name, public_key):
            raise InvalidInput("the note verifier key's hash does not match its key")
        return cls(name, int(hash_hex, 16), public_key)

    @classmethod
    def of(cls, name: str, public_key: Ed25519PublicKey) -> NoteVerifier:
        return cls.parse(verifier_key(name, public_key))


def _decode(encoded: str, what: str) -> bytes:
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"the {what} is not base64") from None


def _check_text(text: str) -> None:
    if not isinstance(text, str) or not text.endswith("\n") or "\n\n" in text:
        raise InvalidInput("malformed note: its text ends in one newline and holds no blank line")
    if any(ord(character) < 0x20 and character != "\n" for character in text):
        raise InvalidInput("malformed note: control characters other than newline")


def note_sign(text: str, name: str, private_key: Ed25519PrivateKey) -> str:
    """The signed note: `text`, a blank line, and the signature line of `name`'s key."""
    _check_text(text)
    if not _valid_name(name):
        raise InvalidInput(f"a note key name has no spaces and no '+': {name!r}")
    signature = private_key.sign(text.encode("utf-8"))
    line = base64.b64encode(struct.pack(">I", note_key_hash(name, private_key.public_key())) + signature).decode()
    return f"{text}\n{SIGNATURE_PREFIX}{name} {line}\n"


@dataclass(frozen=True)
class OpenedNote:
    text: str
    signed_by: tuple[str, ...]  # names of the given verifiers whose signatures verified
    unknown: tuple[str, ...]  # signature lines of keys not given (kept, e.g. other witnesses')


def note_open(message: str | bytes, verifiers: list[NoteVerifier]) -> OpenedNote:
    """Parse a signed note and verify every signature by a given key. A malformed note is
    InvalidInput; a signature by a given key that does not verify, SignatureInvalid; a note no
    given key signed, SignatureInvalid too."""
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput("malformed note: not UTF-8") from None
    if not isinstance(message, str) or any(ord(c) < 0x20 and c != "\n" for c in message):
        raise InvalidInput("malformed note: control characters other than newline")
    split = message.rfind("\n\n")
    if split < 0 or not message.endswith("\n"):
        raise InvalidInput("malformed note: no signature block after a blank line")
    text, block = message[: split + 1], message[split + 2 :]
    lines = block[:-1].split("\n")
    if not lines or len(lines) > MAX_SIGNATURES:
        raise InvalidInput("malformed note: no signature, or too many")
    known = {(v.name, v.key_hash): v for v in verifiers}
    signed, unknown = [], []
    for line in lines:
        if not line.startswith(SIGNATURE_PREFIX):
            raise InvalidInput("malformed note: a signature line starts with an em dash and a space")
        name, _, encoded = line[len(SIGNATURE_PREFIX) :].partition(" ")
        raw = _decode(encoded, "signature") if encoded else b""
        if not _valid_name(name) or len(raw) < 5:
            raise InvalidInput("malformed note: a signature line holds a name and base64(key hash || signature)")
        key_hash = struct.unpack(">I", raw[:4])[0]
        verifier = known.get((name, key_hash))
        if verifier is None:
            unknown.append(line)
            continue
        if name in signed:
            continue
        try:
            verifier.public_key.verify(raw[4:], text.encode("utf-8"))
        except InvalidSignature:
            raise SignatureInvalid(f"invalid signature for key {name}+{key_hash:08x}") from None
        signed.append(name)
    if not signed:
        raise SignatureInvalid("no given key signed this note")
    return OpenedNote(text, tuple(signed), tuple(unknown))


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    tree_size: int
    root_hash: bytes

    def text(self) -> str:
        return f"{self.origin}\n{self.tree_size}\n{base64.b64encode(self.root_hash).decode()}\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint a note's text holds (extension lines after the root are allowed, ignored)."""
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "":
            raise InvalidInput("a checkpoint is origin, tree size and root hash, one a line")
        origin, size, root = lines[0], lines[1], lines[2]
        if not origin or not _DECIMAL.fullmatch(size):
            raise InvalidInput("a checkpoint's origin is not empty and its tree size is a decimal integer")
        root_hash = _decode(root, "checkpoint root hash")
        if len(root_hash) != 32:
            raise InvalidInput("a checkpoint's root hash is 32 bytes")
        return cls(origin, int(size), root_hash)


def checkpoint_sign(checkpoint: Checkpoint, private_key: Ed25519PrivateKey) -> str:
    """The checkpoint as a signed note, the key named by the log's origin (C2SP tlog-checkpoint)."""
    return note_sign(checkpoint.text(), checkpoint.origin, private_key)


def checkpoint_open(message: str | bytes, verifier: NoteVerifier) -> Checkpoint:
    """A signed checkpoint verified with the log's key, whose name must be the checkpoint's origin."""
    opened = note_open(message, [verifier])
    checkpoint = Checkpoint.parse(opened.text)
    if checkpoint.origin != verifier.name:
        raise SignatureInvalid(
            f"the checkpoint's origin {checkpoint.origin!r} is not the log key's name {verifier.name!r}"
        )
    return checkpoint
