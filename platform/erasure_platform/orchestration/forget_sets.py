"""Encrypted, short-lived copies of the records being erased.

Dataset erasure destroys the records at once, but verification must still attack the new model
on exactly those records (and approximate methods train on them). So just before erasing, the
records of the request are copied, encrypted (Fernet, key derived from FIELD_ENCRYPTION_KEY),
into `forget-sets/<plan id>`; the copy is destroyed (all object versions) when the request
completes. It is never readable through the API or the portal."""

from __future__ import annotations

import json

from erasure_platform.core.crypto import fernet_for
from erasure_platform.core.engine import Record
from erasure_platform.core.object_store import platform_object_store

PREFIX = "forget-sets"


def forget_set_key(plan_id) -> str:
    return f"{PREFIX}/{plan_id}.jsonl.enc"


def forget_set_write(*, plan_id, records: list[Record]) -> str:
    key = forget_set_key(plan_id)
    body = "\n".join(json.dumps(record.to_json(), sort_keys=True) for record in records).encode("utf-8")
    platform_object_store().put_bytes(key, fernet_for("forget-sets").encrypt(body))
    return key


def forget_set_read(key: str) -> list[Record]:
    data = fernet_for("forget-sets").decrypt(platform_object_store().get_bytes(key))
    return [Record.from_json(json.loads(line)) for line in data.decode("utf-8").splitlines() if line.strip()]


def forget_set_destroy(key: str) -> int:
    store = platform_object_store()
    return store.delete_permanently(key) if key else 0
