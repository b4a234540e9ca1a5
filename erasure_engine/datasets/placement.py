"""Where a record lives: its shard and slice, fixed when its placement group (its subject, or the
record itself for records about nobody) first enters a dataset, and never changed afterwards.

New groups are balanced by record count: largest first, each to the shard, then the slice of that
shard, holding the fewest records so far (ties to the lowest index), in an order that depends
only on the group sizes and a keyed hash of (group, seed) — so the result does not depend on the
order records are given in. Groups already placed in the parent version keep their place
(`previous_places`), so removing records never moves any other record, and a subject's shard
never changes between versions — SISA exact unlearning relies on both. Within a slice, records
are ordered by (record id, seed) alone.

All of one subject's records share a shard and a slice: erasure requests come per subject, so
erasing one person retrains one shard from one slice, not most of the model.

`placement` is the former hash-only scheme ("hashed-v1"), kept for manifests that recorded it."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping

from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record

BALANCED_SCHEME = "balanced-v1"
HASHED_SCHEME = "hashed-v1"

Place = tuple[int, int]


def _digest(record_id: str, seed: int) -> str:
    return hashlib.sha256(f"sisa-placement:{seed}:{record_id}".encode()).hexdigest()


def placement_key(record_id: str, subject_key: str = "") -> str:
    """The unit placed together: the subject, or the record itself when it is about nobody."""
    return f"subject:{subject_key}" if subject_key else record_id


def placement(record_id: str, *, seed: int, shards: int, slices: int, subject_key: str = "") -> Place:
    """(shard, slice) of a record under the hash-only scheme: two parts of one keyed hash."""
    digest = _digest(placement_key(record_id, subject_key), seed)
    return int(digest[:16], 16) % shards, int(digest[16:32], 16) % slices


def assign_places(
    records: Iterable[Record],
    *,
    seed: int,
    shards: int,
    slices: int,
    previous_places: Mapping[str, Place] | None = None,
) -> dict[str, Place]:
    """record id -> (shard, slice). Groups in `previous_places` (placement key -> place) keep
    their place; new groups are placed largest first on the least-loaded shard and slice."""
    check_layout(shards, slices)
    previous_places = previous_places or {}
    sizes: dict[str, int] = {}
    members: dict[str, list[str]] = {}
    for record in records:
        key = placement_key(record.record_id, record.subject_key)
        sizes[key] = sizes.get(key, 0) + 1
        members.setdefault(key, []).append(record.record_id)
    load = [[0] * slices for _ in range(shards)]
    group_place: dict[str, Place] = {}
    for key, size in sizes.items():
        if key in previous_places:
            shard, slice_ = previous_places[key]
            if not (0 <= shard < shards and 0 <= slice_ < slices):
                raise InvalidInput(
                    f"recorded place {shard}/{slice_} of {key!r} is outside the {shards}x{slices} layout"
                )
            group_place[key] = (shard, slice_)
            load[shard][slice_] += size
    new_groups = sorted(
        (key for key in sizes if key not in group_place), key=lambda key: (-sizes[key], _digest(key, seed))
    )
    for key in new_groups:
        shard = min(range(shards), key=lambda s: (sum(load[s]), s))
        slice_ = min(range(slices), key=lambda j: (load[shard][j], j))
        group_place[key] = (shard, slice_)
        load[shard][slice_] += sizes[key]
    return {record_id: group_place[key] for key, ids in members.items() for record_id in ids}


def places_of_entries(entries: Iterable[Mapping]) -> dict[str, Place]:
    """placement key -> place, from manifest record entries (record_id, subject_key, shard, slice)."""
    places: dict[str, Place] = {}
    for entry in entries:
        places[placement_key(entry["record_id"], entry.get("subject_key", ""))] = (
            int(entry["shard"]),
            int(entry["slice"]),
        )
    return places


def order_key(record_id: str, seed: int) -> tuple[str, str]:
    """Sort key for records within a slice."""
    return _digest(record_id, seed), record_id


def check_layout(shards: int, slices: int) -> None:
    if not isinstance(shards, int) or not isinstance(slices, int) or shards < 1 or slices < 1:
        raise InvalidInput(f"shards and slices must be positive integers, got S={shards!r}, R={slices!r}")
