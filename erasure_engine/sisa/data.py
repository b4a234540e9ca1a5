"""What SISA training needs from a dataset version, and a small in-memory one.

The real implementation is `erasure_engine.datasets.DatasetVersion`; anything with these
attributes works, which keeps the trainer testable without object storage."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol, runtime_checkable

from erasure_engine.datasets.placement import Place, assign_places, placement_key
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record, canonical_json


@runtime_checkable
class ShardedDataset(Protocol):
    version_id: str
    manifest_sha256: str
    shards: int
    slices: int

    def records_in(self, shard: int, slice: int) -> list[Record]:
        """The records of one shard's slice, in a deterministic order."""

    def record_ids_of_subjects(self, subject_keys: Iterable[str]) -> list[str]: ...


def listing_digest(rows: Iterable[tuple[str, str]]) -> str:
    """Digest of a set of (record id, content hash) pairs, independent of their order."""
    return hashlib.sha256(canonical_json(sorted([list(row) for row in rows]))).hexdigest()


def listing_rows(dataset: ShardedDataset, shard: int, slice_: int) -> list[tuple[str, str]]:
    """(record id, content hash) of a slice: from the dataset's manifest when it offers them
    (no slice object read: untouched slices are not re-read to prove a deletion), else its records."""
    rows = getattr(dataset, "listing_rows", None)
    if rows is not None:
        return rows(shard, slice_)
    return [(record.record_id, record.content_hash) for record in dataset.records_in(shard, slice_)]


def slice_listings(dataset: ShardedDataset) -> list[list[dict]]:
    """[shard][slice] -> {"count", "sha256"} of the records trained on: recorded in each model
    version so exact unlearning can prove the new data is exactly the old minus the deletions
    (the old dataset version itself is purged by the erasure)."""
    return [
        [
            {"count": len(rows), "sha256": listing_digest(rows)}
            for rows in (listing_rows(dataset, shard, slice_) for slice_ in range(dataset.slices))
        ]
        for shard in range(dataset.shards)
    ]


class InMemoryDataset:
    """A dataset version held in memory (tests, benchmarks); same contract as DatasetVersion."""

    def __init__(
        self,
        records: Sequence[Record],
        *,
        shards: int,
        slices: int,
        parent_id: str | None = None,
        erasure: dict | None = None,
        previous_places: dict[str, Place] | None = None,
    ):
        """Records are placed balanced by record count (datasets.placement); `previous_places`
        (placement key -> place) keeps the places a parent version gave its subjects."""
        if shards < 1 or slices < 1:
            raise InvalidInput("a sharded dataset needs shards >= 1 and slices >= 1")
        ids = [record.record_id for record in records]
        if len(set(ids)) != len(ids):
            raise InvalidInput("record ids must be unique")
        self.shards = shards
        self.slices = slices
        self.parent_id = parent_id
        self._records = sorted(records, key=lambda record: record.record_id)
        self._position = assign_places(
            self._records, seed=0, shards=shards, slices=slices, previous_places=previous_places
        )
        listing = [[r.record_id, r.content_hash, *self._position[r.record_id]] for r in self._records]
        self.manifest_sha256 = hashlib.sha256(
            canonical_json({"shards": shards, "slices": slices, "records": listing})
        ).hexdigest()
        self.version_id = "mem-" + self.manifest_sha256[:12]
        self.dataset = "in-memory"
        # Same shape as DatasetVersion.manifest's erasure block: the evidence of what was removed.
        self.manifest = {"version_id": self.version_id, "parent_id": parent_id, "erasure": erasure}

    def records(self) -> list[Record]:
        return list(self._records)

    def records_in(self, shard: int, slice: int) -> list[Record]:
        return [record for record in self._records if self._position[record.record_id] == (shard, slice)]

    def listing_rows(self, shard: int, slice: int) -> list[tuple[str, str]]:  # noqa: A002
        return [(record.record_id, record.content_hash) for record in self.records_in(shard, slice)]

    def shard_slice_of(self, record_id: str) -> tuple[int, int]:
        try:
            return self._position[record_id]
        except KeyError:
            raise InvalidInput(f"record {record_id!r} is not in dataset version {self.version_id}") from None

    def record_ids_of_subjects(self, subject_keys: Iterable[str]) -> list[str]:
        wanted = set(subject_keys)
        return [record.record_id for record in self._records if record.subject_key in wanted]

    def content_hashes(self, record_ids: Iterable[str]) -> dict[str, str]:
        by_id = {record.record_id: record for record in self._records}
        return {record_id: by_id[record_id].content_hash for record_id in record_ids if record_id in by_id}

    def without(self, record_ids: Iterable[str]) -> InMemoryDataset:
        """The next version: the same records minus `record_ids`."""
        removed = set(record_ids)
        unknown = sorted(removed - set(self._position))
        if unknown:
            raise InvalidInput(f"unknown record ids: {unknown[:20]}")
        kept = [record for record in self._records if record.record_id not in removed]
        evidence = {
            "from_version": self.version_id,
            "removed": [
                {
                    "record_id": r.record_id,
                    "content_hash": r.content_hash,
                    "shard": self._position[r.record_id][0],
                    "slice": self._position[r.record_id][1],
                }
                for r in self._records
                if r.record_id in removed
            ],
        }
        places = {placement_key(r.record_id, r.subject_key): self._position[r.record_id] for r in self._records}
        return InMemoryDataset(
            kept,
            shards=self.shards,
            slices=self.slices,
            parent_id=self.version_id,
            erasure=evidence,
            previous_places=places,
        )
