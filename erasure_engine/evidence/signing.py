"""Ed25519-signed JSON documents (certificates of erasure, audit-chain anchors).

A signed document is written in canonical JSON (sorted keys, no spaces, UTF-8):
    {"document": {...}, "signature": {"algorithm": "Ed25519", "key_id": "...", "value": "<base64>"}}
The signature covers canonical_json(document). Verification also insists the file itself is
canonical, so that *any* changed byte — even whitespace — fails, not just meaningful edits.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from erasure_engine.errors import EngineError, InvalidInput
from erasure_engine.records import canonical_json, json_nesting_exceeds

ALGORITHM = "Ed25519"


class SignatureInvalid(EngineError):
    code = "signature_invalid"


@dataclass(frozen=True)
class SignedDocument:
    document: dict
    key_id: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(canonical_json(self.document)).hexdigest()


def generate_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def load_private_key(pem: bytes | str) -> Ed25519PrivateKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"the signing key is not a PEM private key: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InvalidInput("the signing key must be an Ed25519 key")
    return key


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as error:
        raise InvalidInput(f"the public key is not a PEM public key: {error}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("the public key must be an Ed25519 key")
    return key


def public_key_pem(private_key: Ed25519PrivateKey) -> bytes:
    return private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def key_id(public_key: Ed25519PublicKey) -> str:
    """Short fingerprint of the public key: which key signed this, at a glance."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def sign_document(document: dict, private_key: Ed25519PrivateKey) -> bytes:
    """The signed file's exact bytes."""
    if not isinstance(document, dict) or not document:
        raise InvalidInput("only a non-empty JSON object can be signed")
    signature = private_key.sign(canonical_json(document))
    return canonical_json(
        {
            "document": document,
            "signature": {
                "algorithm": ALGORITHM,
                "key_id": key_id(private_key.public_key()),
                "value": base64.b64encode(signature).decode("ascii"),
            },
        }
    )


# Deeper than any document the platform signs (a certificate nests about ten levels).
MAX_DOCUMENT_DEPTH = 64


def verify_document(data: bytes, public_key: Ed25519PublicKey) -> SignedDocument:
    """Check a signed file's bytes; raise SignatureInvalid saying what is wrong (never another error:
    the bytes may come from anyone)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SignatureInvalid(f"not a signed document: the file is not UTF-8 JSON ({error})") from None
    if json_nesting_exceeds(text, MAX_DOCUMENT_DEPTH):
        raise SignatureInvalid(f"not a signed document: its JSON nests deeper than {MAX_DOCUMENT_DEPTH} levels")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as error:
        raise SignatureInvalid(f"not a signed document: the file is not valid JSON ({error})") from None
    if not isinstance(parsed, dict) or set(parsed) != {"document", "signature"}:
        raise SignatureInvalid("not a signed document: expected exactly the keys 'document' and 'signature'")
    signature = parsed["signature"]
    if not isinstance(signature, dict) or signature.get("algorithm") != ALGORITHM:
        raise SignatureInvalid(f"unsupported signature algorithm: {signature!r:.80}")
    expected_key = key_id(public_key)
    if signature.get("key_id") != expected_key:
        raise SignatureInvalid(
            f"signed with key {signature.get('key_id')!r}, but the public key given is {expected_key!r}"
        )
    if canonical_json(parsed) != data:
        raise SignatureInvalid("the file was modified: its bytes are not the canonical form that was signed")
    if not isinstance(signature.get("value"), str):
        raise SignatureInvalid("the signature's value must be base64 text")
    try:
        raw_signature = base64.b64decode(signature["value"], validate=True)
        public_key.verify(raw_signature, canonical_json(parsed["document"]))
    except (binascii.Error, ValueError, InvalidSignature):
        raise SignatureInvalid(
            "the signature does not match the document: it was altered or signed by another key"
        ) from None
    return SignedDocument(document=parsed["document"], key_id=expected_key)
