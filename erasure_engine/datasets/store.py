"""Versioned datasets in an ObjectStore (local or S3, same code)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from erasure_engine.datasets import layout
from erasure_engine.datasets import manifest as manifest_io
from erasure_engine.datasets.jsonl import encode_records
from erasure_engine.datasets.placement import BALANCED_SCHEME, assign_places, check_layout, order_key, places_of_entries
from erasure_engine.datasets.version import DatasetVersion
from erasure_engine.errors import EngineError, InvalidInput, ObjectNotFound
from erasure_engine.records import Record
from erasure_engine.storage import ObjectStore
from erasure_engine.storage.base import sha256_hex

if TYPE_CHECKING:
    from erasure_engine.datasets.erasure import ErasureReport


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class DatasetStore:
    """All versions of one named dataset. Versions are immutable except that erasure may
    redact older manifests (see `erase`)."""

    def __init__(self, store: ObjectStore, name: str):
        self.store = store
        self.name = layout.check_dataset_name(name)

    def create_version(
        self,
        records: Iterable[Record],
        *,
        shards: int,
        slices: int,
        seed: int,
        parent_id: str | None = None,
        source: dict | None = None,
    ) -> DatasetVersion:
        """A new version of `records`. `source` says where they came from (an import's source,
        without credentials); every later version keeps it, so erasure can reach back to it."""
        check_layout(shards, slices)
        records = list(records)
        seen: set[str] = set()
        duplicates = sorted({r.record_id for r in records if r.record_id in seen or seen.add(r.record_id)})
        if duplicates:
            raise InvalidInput(f"duplicate record ids: {', '.join(duplicates[:10])}")
        previous_places: dict[str, tuple[int, int]] = {}
        if parent_id is not None:
            parent = self.read_manifest(parent_id).body  # must exist
            if (parent["shards"], parent["slices"], parent["seed"]) == (shards, slices, seed):
                # A subject already placed keeps its shard and slice (see datasets.placement).
                previous_places = places_of_entries(parent["records"])
        places = assign_places(records, seed=seed, shards=shards, slices=slices, previous_places=previous_places)
        grouped: dict[tuple[int, int], list[Record]] = {
            (shard, slice_index): [] for shard in range(shards) for slice_index in range(slices)
        }
        for record in records:
            grouped[places[record.record_id]].append(record)
        objects, entries = [], []
        for place, members in sorted(grouped.items()):
            members.sort(key=lambda record: order_key(record.record_id, seed))
            obj, slice_entries = self.write_slice(place, members)
            objects.append(obj)
            entries.extend(slice_entries)
        return self.record_version(
            objects,
            entries,
            {
                "shards": shards,
                "slices": slices,
                "seed": seed,
                "parent_id": parent_id,
                "erasure": None,
                "placement": {"scheme": BALANCED_SCHEME, "reused_from": parent_id if previous_places else None},
                "source": source,
            },
        )

    def load_version(self, version_id: str, *, verify: bool = True) -> DatasetVersion:
        """With `verify`, read every slice object and check its sha256 (IntegrityMismatch on a
        difference) and refuse versions an erasure has purged."""
        stored = self.read_manifest(version_id)
        version = DatasetVersion(self.store, stored.body, stored.sha256)
        if verify:
            if version.purged_by:
                raise EngineError(
                    f"{self.name}@{version_id} was purged by the erasure that made "
                    f"{', '.join(version.purged_by)}; load a current version instead",
                    code="version_purged",
                )
            version.verify()
        return version

    def list_versions(self) -> list[str]:
        return sorted(manifest_io.manifest_revisions(self.store, self.name), key=layout.version_sequence)

    def latest(self) -> DatasetVersion:
        versions = self.list_versions()
        if not versions:
            raise ObjectNotFound(f"dataset {self.name!r} has no versions in {self.store.url()}")
        return self.load_version(versions[-1])

    def read_manifest(self, version_id: str) -> manifest_io.StoredManifest:
        """The manifest as stored (sha256-checked), without reading any slice object."""
        return manifest_io.read_manifest(self.store, self.name, version_id)

    def erase(
        self, version_id: str, *, subject_keys: Iterable[str] = (), record_ids: Iterable[str] = ()
    ) -> ErasureReport:
        """Erase records from `version_id` and from every stored version of this dataset;
        see `erasure_engine.datasets.erasure.erase`."""
        from erasure_engine.datasets.erasure import erase  # erasure builds on this module

        return erase(self, version_id, subject_keys=subject_keys, record_ids=record_ids)

    def write_slice(self, place: tuple[int, int], records: list[Record]) -> tuple[dict, list[dict]]:
        """Store one slice's records (in the given order) under their content address, unless
        already there; return its manifest object entry and record entries."""
        shard, slice_index = place
        data = encode_records(records)
        sha256 = sha256_hex(data)
        key = layout.object_key(self.name, sha256)
        if not self.store.exists(key):
            self.store.put_bytes(key, data)
        obj = {"shard": shard, "slice": slice_index, "key": key, "sha256": sha256, "records": len(records)}
        entries = [
            {
                "record_id": record.record_id,
                "subject_key": record.subject_key,
                "content_hash": record.content_hash,
                "shard": shard,
                "slice": slice_index,
            }
            for record in records
        ]
        return obj, entries

    def record_version(self, objects: list[dict], entries: list[dict], fields: dict) -> DatasetVersion:
        """Record a new version. Called only after its slice objects are stored, so a manifest
        never names an object that is not there."""
        existing = self.list_versions()
        sequence = layout.version_sequence(existing[-1]) + 1 if existing else 1
        body = {
            "format": manifest_io.MANIFEST_FORMAT,
            "dataset": self.name,
            "version_id": layout.version_id(sequence),
            "created_at": utc_now(),
            "record_count": len(entries),
            "records": entries,
            "objects": objects,
            "redacted_records": [],
            "purged_by": [],
            **fields,
        }
        stored = manifest_io.write_manifest(self.store, self.name, body, revision=0)
        return DatasetVersion(self.store, stored.body, stored.sha256)
