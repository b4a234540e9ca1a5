"""Encrypted, short-lived copies of the records being erased.

Dataset erasure destroys the records at once, but verification must still attack the new model
on exactly those records (and approximate methods train on them). So just before erasing, the
records of the request are copied, encrypted (Fernet, key derived from FIELD_ENCRYPTION_KEY),
into `forget-sets/<plan id>`; the copy is destroyed (all object versions) when the request
completes. It is never readable through the API or the portal."""

from __future__ import annotations

import base64
import functools
import json

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

from erasure_engine.records import Record
from erasure_platform.core.object_store import platform_object_store

PREFIX = "forget-sets"


@functools.lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"erasure-platform/forget-sets/v1").derive(
        secret.encode("utf-8")
    )
    return Fernet(base64.urlsafe_b64encode(key))


def forget_set_key(plan_id) -> str:
    return f"{PREFIX}/{plan_id}.jsonl.enc"


def forget_set_write(*, plan_id, records: list[Record]) -> str:
    key = forget_set_key(plan_id)
    body = "\n".join(json.dumps(record.to_json(), sort_keys=True) for record in records).encode("utf-8")
    platform_object_store().put_bytes(key, _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(body))
    return key


def forget_set_read(key: str) -> list[Record]:
    data = _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(platform_object_store().get_bytes(key))
    return [Record.from_json(json.loads(line)) for line in data.decode("utf-8").splitlines() if line.strip()]


def forget_set_destroy(key: str) -> int:
    store = platform_object_store()
    return store.delete_permanently(key) if key else 0
