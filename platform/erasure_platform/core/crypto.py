"""Symmetric encryption of data at rest: one Fernet key per purpose, derived (HKDF) from the
platform's FIELD_ENCRYPTION_KEY, so that a key leaked for one purpose opens nothing else."""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings


@functools.lru_cache(maxsize=16)
def _derived(secret: str, purpose: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=f"erasure-platform/{purpose}/v1".encode()).derive(
        secret.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def fernet_for(purpose: str) -> Fernet:
    """The Fernet of `purpose` (e.g. "contact-details", "forget-sets") under the current settings."""
    return _derived(settings.FIELD_ENCRYPTION_KEY, purpose)
