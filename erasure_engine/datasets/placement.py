"""Where a record lives: its shard and slice depend only on (subject key — or record id for
records about nobody —, seed, S, R), its position in the slice on (record id, seed).

Removing records therefore never moves any other record to another shard or slice, and a
slice's order stays the same minus the removed rows — SISA exact unlearning relies on both.
All of one subject's records share a shard and a slice: erasure requests come per subject, so
erasing one person retrains one shard from one slice, not most of the model."""

from __future__ import annotations

import hashlib

from erasure_engine.errors import InvalidInput


def _digest(record_id: str, seed: int) -> str:
    return hashlib.sha256(f"sisa-placement:{seed}:{record_id}".encode("utf-8")).hexdigest()


def placement(record_id: str, *, seed: int, shards: int, slices: int, subject_key: str = "") -> tuple[int, int]:
    """(shard, slice) of a record; two independent parts of one keyed hash of its subject."""
    digest = _digest(f"subject:{subject_key}" if subject_key else record_id, seed)
    return int(digest[:16], 16) % shards, int(digest[16:32], 16) % slices


def order_key(record_id: str, seed: int) -> tuple[str, str]:
    """Sort key for records within a slice."""
    return _digest(record_id, seed), record_id


def check_layout(shards: int, slices: int) -> None:
    if not isinstance(shards, int) or not isinstance(slices, int) or shards < 1 or slices < 1:
        raise InvalidInput(f"shards and slices must be positive integers, got S={shards!r}, R={slices!r}")
