"""One immutable dataset version: its manifest, and its records read (and verified) on demand."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from erasure_engine.datasets.jsonl import decode_records
from erasure_engine.errors import IntegrityMismatch, InvalidInput, ObjectNotFound
from erasure_engine.records import Record
from erasure_engine.storage import ObjectStore


class DatasetVersion:
    """Records of a version are grouped in S shards × R slices; `records_in(shard, slice)`
    returns them in a fixed order that erasure only ever shortens."""

    def __init__(self, store: ObjectStore, manifest: dict, manifest_sha256: str):
        self._store = store
        self.manifest = manifest
        self.manifest_sha256 = manifest_sha256
        self.dataset: str = manifest["dataset"]
        self.version_id: str = manifest["version_id"]
        self.parent_id: str | None = manifest["parent_id"]
        self.shards: int = manifest["shards"]
        self.slices: int = manifest["slices"]
        self.seed: int = manifest["seed"]
        self._entries = {entry["record_id"]: entry for entry in manifest["records"]}
        self._objects = {(obj["shard"], obj["slice"]): obj for obj in manifest["objects"]}
        self._slice_entries: dict[tuple[int, int], list[dict]] = {place: [] for place in self._objects}
        for entry in manifest["records"]:
            self._slice_entries[(entry["shard"], entry["slice"])].append(entry)
        self._slices: dict[tuple[int, int], list[Record]] = {}

    @property
    def purged_by(self) -> list[str]:
        """Versions whose erasures deleted data this version held; non-empty means unreadable."""
        return list(self.manifest.get("purged_by", []))

    def __len__(self) -> int:
        return len(self._entries)

    def record_ids(self) -> list[str]:
        return [entry["record_id"] for entry in self.manifest["records"]]

    def records(self) -> list[Record]:
        """All records, slice by slice in (shard, slice) order."""
        return [
            record
            for shard in range(self.shards)
            for slice_index in range(self.slices)
            for record in self.records_in(shard, slice_index)
        ]

    def records_in(self, shard: int, slice: int) -> list[Record]:  # noqa: A002 - SISA vocabulary
        place = (shard, slice)
        if place not in self._objects:
            raise InvalidInput(f"{self.dataset}@{self.version_id} has no shard {shard} slice {slice}")
        if place not in self._slices:
            self._slices[place] = self._read_slice(place)
        return list(self._slices[place])

    def listing_rows(self, shard: int, slice: int) -> list[tuple[str, str]]:  # noqa: A002
        """(record id, content hash) of a slice as the manifest lists them, without reading it."""
        if (shard, slice) not in self._objects:
            raise InvalidInput(f"{self.dataset}@{self.version_id} has no shard {shard} slice {slice}")
        return [(entry["record_id"], entry["content_hash"]) for entry in self._slice_entries[(shard, slice)]]

    def shard_slice_of(self, record_id: str) -> tuple[int, int]:
        entry = self._entry(record_id)
        return entry["shard"], entry["slice"]

    def record_ids_of_subjects(self, subject_keys: Iterable[str]) -> list[str]:
        wanted = set(subject_keys)
        return [entry["record_id"] for entry in self.manifest["records"] if entry["subject_key"] in wanted]

    def content_hashes(self, record_ids: Iterable[str]) -> dict[str, str]:
        return {record_id: self._entry(record_id)["content_hash"] for record_id in record_ids}

    def object_key(self, shard: int, slice: int) -> str:  # noqa: A002
        return self._objects[(shard, slice)]["key"]

    def verify(self) -> None:
        """Read every slice object and check it against the manifest."""
        for place in sorted(self._objects):
            self._slices[place] = self._read_slice(place)

    def summary(self) -> dict:
        manifest = self.manifest
        return {
            "dataset": self.dataset,
            "version_id": self.version_id,
            "parent_id": self.parent_id,
            "created_at": manifest["created_at"],
            "shards": self.shards,
            "slices": self.slices,
            "seed": self.seed,
            "records": len(self._entries),
            "subjects": len({e["subject_key"] for e in manifest["records"] if e["subject_key"]}),
            "slice_records": {f"{o['shard']}/{o['slice']}": o["records"] for o in manifest["objects"]},
            "manifest_sha256": self.manifest_sha256,
            "erased_from": (manifest.get("erasure") or {}).get("from_version"),
            "erased_records": len((manifest.get("erasure") or {}).get("removed", [])),
            "purged_by": self.purged_by,
        }

    def _entry(self, record_id: str) -> dict:
        try:
            return self._entries[record_id]
        except KeyError:
            raise InvalidInput(f"record {record_id!r} is not in {self.dataset}@{self.version_id}") from None

    def _read_slice(self, place: tuple[int, int]) -> list[Record]:
        obj = self._objects[place]
        try:
            data = self._store.get_bytes(obj["key"])
        except ObjectNotFound:
            if self.purged_by:
                raise ObjectNotFound(
                    f"{self.dataset}@{self.version_id} shard {place[0]} slice {place[1]} was deleted by "
                    f"the erasure that made {', '.join(self.purged_by)}"
                ) from None
            raise
        actual = hashlib.sha256(data).hexdigest()
        if actual != obj["sha256"]:
            raise IntegrityMismatch(
                f"object {obj['key']} ({self.dataset}@{self.version_id} shard {place[0]} slice {place[1]}): "
                f"sha256 {actual} != manifest {obj['sha256']}",
                details={"key": obj["key"], "actual": actual, "expected": obj["sha256"]},
            )
        records = decode_records(data, source=obj["key"])
        stored = [(r.record_id, r.content_hash) for r in records]
        expected = [(e["record_id"], e["content_hash"]) for e in self._slice_entries[place]]
        if stored != expected:
            raise IntegrityMismatch(f"object {obj['key']}: records differ from the manifest's list for that slice")
        return records
