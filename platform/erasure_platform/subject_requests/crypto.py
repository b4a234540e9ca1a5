"""Encryption at rest for requesters' contact details, and keyed hashes for secrets we only compare.

The Fernet key is derived (HKDF-SHA256) from settings.FIELD_ENCRYPTION_KEY, so the setting can
be any high-entropy string. Rotating it makes old ciphertexts unreadable: decrypt_text then
returns None and callers treat the detail as purged.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.fernet import InvalidToken
from django.conf import settings

from erasure_platform.core.crypto import fernet_for


def encrypt_text(value: str) -> str:
    if not value:
        return ""
    return fernet_for("contact-details").encrypt(value.encode("utf-8")).decode("ascii")


def decrypt_text(token: str) -> str | None:
    if not token:
        return None
    try:
        return fernet_for("contact-details").decrypt(token.encode("ascii")).decode("utf-8")
    except InvalidToken:
        return None


def token_hash(token: str) -> str:
    """Lookup hash of an owner's access token (the token itself has 256 bits of entropy)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def code_hash(*, request_id, code: str) -> str:
    """Keyed hash of a one-time code: a leaked table does not allow offline guessing."""
    message = f"{request_id}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode("utf-8"), message, hashlib.sha256).hexdigest()


def constant_time_equal(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())
