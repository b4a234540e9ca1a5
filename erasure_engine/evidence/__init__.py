"""Signed evidence that anyone can verify offline with the public key."""

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

__all__ = [
    "SignedDocument",
    "generate_private_key_pem",
    "key_id",
    "load_private_key",
    "load_public_key",
    "public_key_pem",
    "sign_document",
    "verify_document",
]
