"""Where a record lives: its shard, slice and position depend only on (record_id, seed, S, R).

Removing records therefore never moves any other record to another shard or slice, and a
slice's order stays the same minus the removed rows — SISA exact unlearning relies on both."""

from __future__ import annotations

import hashlib

from erasure_engine.errors import InvalidInput


def _digest(record_id: str, seed: int) -> str:
    return hashlib.sha256(f"sisa-placement:{seed}:{record_id}".encode("utf-8")).hexdigest()


def placement(record_id: str, *, seed: int, shards: int, slices: int) -> tuple[int, int]:
    """(shard, slice) of a record; two independent parts of one keyed hash."""
    digest = _digest(record_id, seed)
    return int(digest[:16], 16) % shards, int(digest[16:32], 16) % slices


def order_key(record_id: str, seed: int) -> tuple[str, str]:
    """Sort key for records within a slice."""
    return _digest(record_id, seed), record_id


def check_layout(shards: int, slices: int) -> None:
    if not isinstance(shards, int) or not isinstance(slices, int) or shards < 1 or slices < 1:
        raise InvalidInput(f"shards and slices must be positive integers, got S={shards!r}, R={slices!r}")
