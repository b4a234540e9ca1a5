"""The platform's evidence signing key (settings.EVIDENCE_SIGNING_KEY, PEM)."""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from erasure_platform.core.engine import key_id, load_private_key, public_key_pem


@lru_cache(maxsize=1)
def evidence_signing_key() -> Ed25519PrivateKey:
    return load_private_key(settings.EVIDENCE_SIGNING_KEY)


def evidence_public_key() -> Ed25519PublicKey:
    return evidence_signing_key().public_key()


def evidence_public_key_pem() -> str:
    return public_key_pem(evidence_signing_key()).decode("ascii")


def evidence_key_id() -> str:
    return key_id(evidence_public_key())
