"""Erasing records from a dataset: a new version without them, then every stored object that
held them deleted for good (all versions of the dataset, all S3 object versions), then older
manifests redacted.

Crash-safe by ordering: (1) new slice objects, (2) new manifest, whose `erasure` block names
the request, (3) deletions, (4) redacted manifest revisions, (5) superseded revisions deleted.
Running the same call again finds the manifest from (2) and redoes (3)–(5), each idempotent.
A request that already completed finds its records gone and reports nothing left to remove.

What survives, as evidence: the new version's `erasure` block and older manifests'
`redacted_records` keep record ids, content hashes and placements, and a one-way digest of
each subject key (enough to recognise a repeated request) — never the subject key itself.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from erasure_engine.datasets import layout
from erasure_engine.datasets import manifest as manifest_io
from erasure_engine.datasets.jsonl import decode_records
from erasure_engine.datasets.store import DatasetStore
from erasure_engine.datasets.version import DatasetVersion
from erasure_engine.errors import EngineError, IntegrityMismatch, InvalidInput, ObjectNotFound
from erasure_engine.records import canonical_json

logger = logging.getLogger(__name__)


def subject_key_digest(subject_key: str) -> str:
    """What erasure evidence keeps instead of a subject key."""
    return hashlib.sha256(f"erased-subject-key:{subject_key}".encode()).hexdigest()


def request_digest(subject_keys: list[str], record_ids: list[str]) -> str:
    body = {"subject_key_digests": sorted(map(subject_key_digest, subject_keys)), "record_ids": sorted(record_ids)}
    return hashlib.sha256(canonical_json(body)).hexdigest()


@dataclass
class ErasureReport:
    dataset: str
    from_version: str
    new_version: str | None  # None when nothing was left to remove
    removed_records: list[dict]  # {record_id, subject_key, content_hash, shard, slice}
    affected_slices: list[tuple[int, int]]
    deleted_objects: list[str]  # every object key that held an erased record (now gone)
    object_versions_destroyed: int  # by this call: slice objects + superseded manifest revisions
    redacted_versions: list[str] = field(default_factory=list)  # older versions purged of the records
    resumed: bool = False  # finished an erasure an earlier call had started
    nothing_left_to_remove: bool = False  # the records were already erased
    erased_in: list[str] = field(default_factory=list)  # versions whose erasures removed them

    def to_json(self) -> dict:
        data = asdict(self)
        data["affected_slices"] = [list(place) for place in self.affected_slices]
        return data


def erase(
    datasets: DatasetStore, version_id: str, *, subject_keys: Iterable[str] = (), record_ids: Iterable[str] = ()
) -> ErasureReport:
    keys = sorted(set(subject_keys))
    ids = sorted(set(record_ids))
    if not keys and not ids:
        raise InvalidInput("name at least one subject key or record id to erase")
    if any(not isinstance(key, str) or not key for key in keys):
        raise InvalidInput("subject keys must be non-empty strings (records without a subject cannot be erased by key)")
    source = datasets.read_manifest(version_id).body
    request = request_digest(keys, ids)
    manifests = {vid: datasets.read_manifest(vid).body for vid in datasets.list_versions()}

    for candidate in manifests.values():
        erasure = candidate.get("erasure") or {}
        if erasure.get("from_version") == version_id and erasure.get("request") == request:
            logger.info("resuming erasure %s -> %s", version_id, candidate["version_id"])
            return _finish(datasets, candidate, source, keys, resumed=True)

    key_set, id_set = set(keys), set(ids)
    targets = [e for e in source["records"] if e["subject_key"] in key_set or e["record_id"] in id_set]
    missing_keys = key_set - {e["subject_key"] for e in targets}
    missing_ids = id_set - {e["record_id"] for e in targets}
    earlier = _earlier_erasures(manifests.values(), missing_keys, missing_ids)
    erased_digests = {e["subject_key_digest"] for _, e in earlier}
    erased_ids = {e["record_id"] for _, e in earlier}
    unknown_keys = sorted(k for k in missing_keys if subject_key_digest(k) not in erased_digests)
    unknown_ids = sorted(i for i in missing_ids if i not in erased_ids)
    if unknown_keys or unknown_ids:
        parts = []
        if unknown_keys:
            parts.append(f"subject keys with no records: {', '.join(unknown_keys)}")
        if unknown_ids:
            parts.append(f"unknown record ids: {', '.join(unknown_ids)}")
        raise InvalidInput(
            f"{datasets.name}@{version_id}: {'; '.join(parts)}",
            details={"subject_keys": unknown_keys, "record_ids": unknown_ids},
        )

    if not targets:
        return _report_already_erased(datasets, version_id, manifests, earlier, keys)
    if source.get("purged_by"):
        raise EngineError(
            f"{datasets.name}@{version_id} was purged by the erasure that made {', '.join(source['purged_by'])}; "
            f"erase from a current version (latest: {datasets.list_versions()[-1]})",
            code="version_purged",
        )
    new_manifest = _write_erased_version(datasets, source, targets, request)
    return _finish(datasets, new_manifest, source, keys, resumed=False, targets=targets)


def _earlier_erasures(manifests: Iterable[dict], keys: set[str], ids: set[str]) -> list[tuple[str, dict]]:
    """(version that erased it, evidence entry) for each requested record already erased."""
    digests = {subject_key_digest(key) for key in keys}
    found = []
    for manifest in manifests:
        for entry in (manifest.get("erasure") or {}).get("removed", []):
            if entry["subject_key_digest"] in digests or entry["record_id"] in ids:
                found.append((manifest["version_id"], entry))
    return found


def _write_erased_version(datasets: DatasetStore, source: dict, targets: list[dict], request: str) -> dict:
    target_ids = {e["record_id"] for e in targets}
    affected = {(e["shard"], e["slice"]) for e in targets}
    # Read (and verify) only the affected slices; the others are reused as they are.
    old = DatasetVersion(datasets.store, source, "")
    objects, entries = [], []
    entries_by_place: dict[tuple[int, int], list[dict]] = {}
    for entry in source["records"]:
        entries_by_place.setdefault((entry["shard"], entry["slice"]), []).append(entry)
    for obj in source["objects"]:
        place = (obj["shard"], obj["slice"])
        if place in affected:
            kept = [r for r in old.records_in(*place) if r.record_id not in target_ids]
            obj, slice_entries = datasets.write_slice(place, kept)
        else:
            slice_entries = entries_by_place.get(place, [])
        objects.append(obj)
        entries.extend(slice_entries)
    removed = [
        {
            "record_id": e["record_id"],
            "subject_key_digest": subject_key_digest(e["subject_key"]),
            "content_hash": e["content_hash"],
            "shard": e["shard"],
            "slice": e["slice"],
        }
        for e in targets
    ]
    fields = {
        "shards": source["shards"],
        "slices": source["slices"],
        "seed": source["seed"],
        "placement": source.get("placement"),
        "source": source.get("source"),
        "parent_id": source["version_id"],
        "erasure": {"from_version": source["version_id"], "request": request, "removed": removed},
    }
    return datasets.record_version(objects, entries, fields).manifest


def _finish(
    datasets: DatasetStore,
    new_manifest: dict,
    source: dict,
    keys: list[str],
    *,
    resumed: bool,
    targets: list[dict] | None = None,
) -> ErasureReport:
    purge = _purge(datasets, new_manifest, keys)
    removed = new_manifest["erasure"]["removed"]
    report = ErasureReport(
        dataset=datasets.name,
        from_version=new_manifest["erasure"]["from_version"],
        new_version=new_manifest["version_id"],
        removed_records=[],
        affected_slices=sorted({(e["shard"], e["slice"]) for e in removed}),
        deleted_objects=purge.deleted_objects,
        object_versions_destroyed=purge.destroyed,
        redacted_versions=purge.redacted_versions,
        erased_in=[new_manifest["version_id"]],
    )
    if resumed and not purge.did_work:
        # The same request already ran to completion.
        report.new_version = None
        report.affected_slices = []
        report.nothing_left_to_remove = True
        return report
    report.resumed = resumed
    if targets is None:
        # Resumed: subject keys come from the request, or from the source manifest if a crash
        # stopped before it was redacted; a record erased by id alone may have neither left.
        by_digest = {subject_key_digest(key): key for key in keys}
        still_listed = {e["record_id"]: e["subject_key"] for e in source["records"]}
        targets = [
            dict(e, subject_key=by_digest.get(e["subject_key_digest"], still_listed.get(e["record_id"])))
            for e in removed
        ]
    report.removed_records = [
        {k: e[k] for k in ("record_id", "subject_key", "content_hash", "shard", "slice")} for e in targets
    ]
    return report


def _report_already_erased(
    datasets: DatasetStore,
    version_id: str,
    manifests: dict[str, dict],
    earlier: list[tuple[str, dict]],
    keys: list[str],
) -> ErasureReport:
    """Every requested record is already erased: finish those erasures' cleanup (a no-op when
    they completed) and say that nothing was left to remove."""
    erasing_versions = sorted({vid for vid, _ in earlier}, key=layout.version_sequence)
    purges = [_purge(datasets, manifests[vid], keys) for vid in erasing_versions]
    return ErasureReport(
        dataset=datasets.name,
        from_version=version_id,
        new_version=None,
        removed_records=[],
        affected_slices=[],
        deleted_objects=sorted({key for p in purges for key in p.deleted_objects}),
        object_versions_destroyed=sum(p.destroyed for p in purges),
        redacted_versions=sorted({v for p in purges for v in p.redacted_versions}, key=layout.version_sequence),
        nothing_left_to_remove=True,
        erased_in=erasing_versions,
    )


@dataclass
class _Purge:
    deleted_objects: list[str]  # object keys that held erased records
    destroyed: int  # object versions this call destroyed
    redacted_now: int  # manifests this call redacted
    redacted_versions: list[str]  # every version purged by this erasure

    @property
    def did_work(self) -> bool:
        return bool(self.destroyed or self.redacted_now)


def _purge(datasets: DatasetStore, new_manifest: dict, keys: list[str]) -> _Purge:
    """Delete every object that holds a record erased by `new_manifest`'s erasure (in any
    version), redact the other manifests, drop superseded manifest revisions."""
    store, name = datasets.store, datasets.name
    new_version = new_manifest["version_id"]
    removed = new_manifest["erasure"]["removed"]
    pairs = {(e["record_id"], e["content_hash"]) for e in removed}
    key_set = set(keys)

    def holds_erased(entry: dict) -> bool:
        return (entry["record_id"], entry["content_hash"]) in pairs or entry["subject_key"] in key_set

    tainted: set[str] = set()
    to_redact: list[tuple[manifest_io.StoredManifest, list[dict]]] = []
    referenced: set[str] = set()
    redacted: list[str] = []
    for version in datasets.list_versions():
        stored = datasets.read_manifest(version)
        body = stored.body
        referenced.update(o["key"] for o in body["objects"])
        if version == new_version:
            continue
        if new_version in body["purged_by"]:
            redacted.append(version)
        object_of = {(o["shard"], o["slice"]): o["key"] for o in body["objects"]}
        hits = [e for e in body["records"] if holds_erased(e)]
        done = [e for e in body["redacted_records"] if e["erased_in"] == new_version]
        tainted.update(object_of[(e["shard"], e["slice"])] for e in hits + done)
        if hits:
            to_redact.append((stored, hits))
            if version not in redacted:
                redacted.append(version)

    kept_keys = {o["key"] for o in new_manifest["objects"]}
    if tainted & kept_keys or any(holds_erased(e) for e in new_manifest["records"]):
        raise EngineError(
            f"{name}@{new_version} still holds records it should have erased; refusing to delete",
            code="erasure_inconsistent",
        )
    present = {key for key, _ in store.list_versions(layout.objects_prefix(name))}
    tainted.update(_orphans_holding(store, present - referenced, holds_erased, key_set))
    destroyed = 0
    for key in sorted(tainted & present):
        destroyed += store.delete_permanently(key)
        logger.info("deleted %s", key)

    for stored, hits in to_redact:
        body = dict(stored.body)
        body["records"] = [e for e in body["records"] if not holds_erased(e)]
        body["record_count"] = len(body["records"])
        body["redacted_records"] = body["redacted_records"] + [
            {
                "record_id": e["record_id"],
                "content_hash": e["content_hash"],
                "shard": e["shard"],
                "slice": e["slice"],
                "erased_in": new_version,
            }
            for e in hits
        ]
        body["objects"] = [dict(o, deleted=True) if o["key"] in tainted else o for o in body["objects"]]
        body["purged_by"] = sorted(set(body["purged_by"]) | {new_version}, key=layout.version_sequence)
        manifest_io.write_manifest(store, name, body, stored.revision + 1)

    # Older revisions still list the erased subject keys; a crash may have left some behind.
    for revisions in manifest_io.manifest_revisions(store, name).values():
        for _, key in revisions[:-1]:
            destroyed += store.delete_permanently(key)

    return _Purge(sorted(tainted), destroyed, len(to_redact), sorted(redacted, key=layout.version_sequence))


def _orphans_holding(store, orphans: set[str], holds_erased, key_set: set[str]) -> set[str]:
    """Objects no manifest names (left by a crash before a manifest was written) that hold
    erased records, or that have no current version left to check (only older S3 versions
    behind a delete marker, which no dataset version can use). Read to decide, so objects of
    a version being written right now survive unless they hold erased data."""
    found = set()
    for key in sorted(orphans):
        try:
            records = decode_records(store.get_bytes(key), source=key)
        except ObjectNotFound:
            found.add(key)
            continue
        except IntegrityMismatch:
            continue
        entries = (
            {"record_id": r.record_id, "content_hash": r.content_hash, "subject_key": r.subject_key} for r in records
        )
        if any(holds_erased(entry) for entry in entries):
            found.add(key)
    return found
