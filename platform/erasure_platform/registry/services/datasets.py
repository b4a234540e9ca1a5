"""Datasets and dataset versions: registration (with the subject index) and erasure."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, transaction
from psycopg import sql

from erasure_platform.core.engine import DatasetStore, EngineError, Record, check_dataset_name
from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_record
from erasure_platform.registry.lineage import rows_by_version
from erasure_platform.registry.models import Dataset, DatasetPurpose, DatasetVersion, SubjectRecord

INDEX_BATCH = 5000


def engine_error(error: EngineError) -> ApplicationError:
    return ApplicationError(
        str(error),
        code=getattr(error, "code", "engine_error") or "engine_error",
        details=getattr(error, "details", None) or {},
    )


def dataset_register(
    *, name: str, actor: str, purpose: str = DatasetPurpose.TRAINING, description: str = ""
) -> Dataset:
    try:
        check_dataset_name(name)
    except EngineError as error:
        raise engine_error(error) from None
    if purpose not in DatasetPurpose.values:
        raise ApplicationError(f"purpose must be one of {DatasetPurpose.values}", code="invalid_purpose")
    if Dataset.objects.filter(name=name).exists():
        raise Conflict(f"dataset {name!r} is already registered", code="dataset_exists")
    with transaction.atomic():
        dataset = Dataset.objects.create(name=name, purpose=purpose, description=description[:500], created_by=actor)
        audit_record(
            actor=actor,
            action="dataset.registered",
            entity_type="dataset",
            entity_id=dataset.pk,
            data={"name": name, "purpose": purpose},
        )
    return dataset


def _open_rows(version: DatasetVersion, entries: Iterable[dict]) -> int:
    """Index every record of a version as an interval starting there: on PostgreSQL one COPY stream
    (no statement per batch: what a ten-million-record import needs), elsewhere (the embedded
    SQLite) batched inserts."""
    if connection.vendor == "postgresql":
        return _copy_rows(version, entries)
    rows, count = [], 0
    for entry in entries:
        rows.append(
            SubjectRecord(
                subject_key=entry["subject_key"] or "",
                dataset_id=version.dataset_id,
                record_id=entry["record_id"],
                content_hash=entry["content_hash"],
                shard=entry["shard"],
                slice=entry["slice"],
                valid_from=version,
            )
        )
        if len(rows) >= INDEX_BATCH:
            SubjectRecord.objects.bulk_create(rows)
            count += len(rows)
            rows = []
    SubjectRecord.objects.bulk_create(rows)
    return count + len(rows)


COPY_FIELDS = ("subject_key", "dataset", "record_id", "content_hash", "shard", "slice", "valid_from")


def _copy_rows(version: DatasetVersion, entries: Iterable[dict]) -> int:
    meta = SubjectRecord._meta
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(meta.db_table),
        sql.SQL(", ").join(sql.Identifier(meta.get_field(name).column) for name in COPY_FIELDS),
    )
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for entry in entries:
            copy.write_row(
                (
                    entry["subject_key"] or "",
                    version.dataset_id,
                    entry["record_id"],
                    entry["content_hash"],
                    entry["shard"],
                    entry["slice"],
                    version.pk,
                )
            )
            count += 1
    return count


def _close_rows(version: DatasetVersion, record_ids: Iterable[str], *, erased: bool) -> int:
    """End the intervals of records that are not in `version` (its parent had them)."""
    closed = 0
    record_ids = list(record_ids)
    for start in range(0, len(record_ids), INDEX_BATCH):
        closed += SubjectRecord.objects.filter(
            dataset_id=version.dataset_id,
            record_id__in=record_ids[start : start + INDEX_BATCH],
            valid_until__isnull=True,
        ).update(valid_until=version, **({"erased_in": version} if erased else {}))
    return closed


def index_version_rows(
    version: DatasetVersion, parent: DatasetVersion | None, body: dict, erasure: dict | None
) -> dict:
    """Write the index rows of a newly registered version: only what changed since its parent
    when the parent is the dataset's latest version (the usual, linear history), else every record.
    Returns {"opened", "closed"} (rows written)."""
    latest_before = (
        DatasetVersion.objects.filter(dataset_id=version.dataset_id)
        .exclude(pk=version.pk)
        .order_by("-id")
        .values_list("pk", flat=True)
        .first()
    )
    if parent is None or parent.pk != latest_before:
        return {"opened": _open_rows(version, body["records"]), "closed": 0}
    removed = [entry["record_id"] for entry in (erasure or {}).get("removed", [])]
    if erasure is not None and parent.record_count - len(removed) == body["record_count"]:
        # An erasure: the records that stay are unchanged (the engine only removes), so only the
        # erased records' rows change. Written rows ~ erased records, whatever the dataset's size.
        return {"opened": 0, "closed": _close_rows(version, removed, erased=True)}
    # Any other new version: compare with the parent's open intervals, write the difference.
    current = {
        record_id: key
        for record_id, *key in SubjectRecord.objects.filter(
            dataset_id=version.dataset_id,
            valid_until__isnull=True,
        )
        .values_list("record_id", "subject_key", "content_hash", "shard", "slice")
        .iterator(chunk_size=INDEX_BATCH)
    }
    changed, seen = [], set()
    for entry in body["records"]:
        seen.add(entry["record_id"])
        if current.get(entry["record_id"]) != [
            entry["subject_key"] or "",
            entry["content_hash"],
            entry["shard"],
            entry["slice"],
        ]:
            changed.append(entry)
    ended = [record_id for record_id in current if record_id not in seen]
    stale = [entry["record_id"] for entry in changed if entry["record_id"] in current]
    closed = _close_rows(version, ended + stale, erased=False)
    return {"opened": _open_rows(version, changed), "closed": closed}


def dataset_version_register(
    *, dataset: Dataset, version_id: str, actor: str, parent: DatasetVersion | None = None, erasure: dict | None = None
) -> DatasetVersion:
    """Record an engine dataset version (read and checked from the object store) and index its
    records by subject. Registering the same version again returns the existing row."""
    existing = DatasetVersion.objects.filter(dataset=dataset, version_id=version_id).first()
    if existing is not None:
        return existing
    store = platform_object_store()
    try:
        stored = DatasetStore(store, dataset.name).read_manifest(version_id)
    except EngineError as error:
        raise engine_error(error) from None
    body = stored.body
    if body.get("purged_by"):
        raise Conflict(
            f"{dataset.name}@{version_id} was purged by an erasure; register a current version", code="version_purged"
        )
    if parent is None and body.get("parent_id"):
        parent = DatasetVersion.objects.filter(dataset=dataset, version_id=body["parent_id"]).first()
    with transaction.atomic():
        version = DatasetVersion.objects.create(
            dataset=dataset,
            version_id=version_id,
            manifest_sha256=stored.sha256,
            object_url=store.url(stored.key),
            parent=parent,
            record_count=body["record_count"],
            shards=body["shards"],
            slices=body["slices"],
            erasure=erasure,
            source=body.get("source"),
            created_by=actor,
        )
        index_rows = index_version_rows(version, parent, body, erasure)
        audit_record(
            actor=actor,
            action="dataset_version.registered",
            entity_type="dataset_version",
            entity_id=version.pk,
            data={
                "dataset": dataset.name,
                "version_id": version_id,
                "manifest_sha256": stored.sha256,
                "records": body["record_count"],
                "index_rows": index_rows,
                "parent": parent.version_id if parent else None,
            },
        )
    return version


def dataset_version_create(
    *, dataset: Dataset, records: list[Record], shards: int, slices: int, seed: int, actor: str
) -> DatasetVersion:
    """Write records as a new engine dataset version, then register it (demo data, imports)."""
    latest = dataset.versions.order_by("-id").first()
    try:
        engine_version = DatasetStore(platform_object_store(), dataset.name).create_version(
            records, shards=shards, slices=slices, seed=seed, parent_id=latest.version_id if latest else None
        )
    except EngineError as error:
        raise engine_error(error) from None
    return dataset_version_register(dataset=dataset, version_id=engine_version.version_id, actor=actor, parent=latest)


def dataset_version_latest(*, dataset: Dataset) -> DatasetVersion | None:
    return dataset.versions.order_by("-id").first()


def dataset_version_erase(
    *, version: DatasetVersion, subject_keys: list[str], record_ids: list[str] | None, request_id: str, actor: str
) -> dict:
    """Erase a person's records (all, under any of their keys, or the named ones) from a dataset version with the engine:
    a new version without them, every object that held them destroyed. Registers the new
    version, marks the old one purged and its index rows erased. Idempotent (the engine resumes
    or reports nothing left). Returns the completion entry for the request."""
    dataset = version.dataset
    store = platform_object_store()
    datasets = DatasetStore(store, dataset.name)
    # Of the person's keys (identity maps give several), those this dataset knows: its index rows,
    # kept, erased or not, until the request completes, so a resumed erasure names the same keys.
    keys = (
        []
        if record_ids
        else sorted(
            set(
                SubjectRecord.objects.filter(dataset_id=version.dataset_id, subject_key__in=subject_keys).values_list(
                    "subject_key", flat=True
                )
            )
        )
    )
    try:
        report = datasets.erase(version.version_id, subject_keys=keys, record_ids=record_ids or [])
    except EngineError as error:
        raise engine_error(error) from None
    if report.new_version is None:
        after = DatasetVersion.objects.filter(dataset=dataset, version_id=(report.erased_in or [None])[-1]).first()
        erasure = (after.erasure or {}) if after is not None else {}
        if request_id in erasure.get("request_ids", []):
            # This request's own erasure, done by an earlier attempt that died before recording it
            # (a job resumed after a crash): the same entry as then, not "nothing was removed".
            return {
                "dataset": dataset.name,
                "version_before": version.version_id,
                "version_after": after.version_id,
                "removed": [
                    {"record_id": r["record_id"], "content_hash": r["content_hash"]} for r in erasure["removed"]
                ],
            }
        return {
            "dataset": dataset.name,
            "version_before": version.version_id,
            "version_after": after.version_id if after else version.version_id,
            "removed": [],
            "already_erased": True,
        }
    removed = [
        {"record_id": r["record_id"], "content_hash": r["content_hash"], "shard": r["shard"], "slice": r["slice"]}
        for r in report.removed_records
    ]
    with transaction.atomic():
        new = dataset_version_register(
            dataset=dataset,
            version_id=report.new_version,
            actor=actor,
            parent=version,
            erasure={"request_ids": [request_id], "removed": removed},
        )
        DatasetVersion.objects.filter(
            pk__in=DatasetVersion.objects.filter(dataset=dataset, version_id__in=report.redacted_versions).values("pk")
        ).update(purged=True)
        # The erased records' index intervals were closed (erased_in = new) by the registration.
        audit_record(
            actor=actor,
            action="dataset_version.erased",
            entity_type="dataset_version",
            entity_id=version.pk,
            data={
                "dataset": dataset.name,
                "version_before": version.version_id,
                "version_after": new.version_id,
                "request_id": request_id,
                "removed": [r["record_id"] for r in removed],
                "objects_destroyed": report.object_versions_destroyed,
                "redacted_versions": report.redacted_versions,
            },
        )
    return {
        "dataset": dataset.name,
        "version_before": version.version_id,
        "version_after": new.version_id,
        "removed": [{"record_id": r["record_id"], "content_hash": r["content_hash"]} for r in removed],
    }


def dataset_records_of_subject(
    *, version: DatasetVersion, subject_keys: list[str], record_ids: list[str] | None
) -> list[Record]:
    """Read (verified) the records of a person (any of their keys) from a still-readable version: the forget set."""
    rows = SubjectRecord.objects.filter(
        dataset_id=version.dataset_id, subject_key__in=subject_keys, erased_in__isnull=True
    )
    if record_ids:
        rows = rows.filter(record_id__in=record_ids)
    _, grouped = rows_by_version(rows)
    wanted = grouped.get(version.pk, [])
    places = {(row.shard, row.slice) for row in wanted}
    ids = {row.record_id for row in wanted}
    try:
        engine_version = DatasetStore(platform_object_store(), version.dataset.name).load_version(
            version.version_id, verify=False
        )
        return [r for place in sorted(places) for r in engine_version.records_in(*place) if r.record_id in ids]
    except EngineError as error:
        raise engine_error(error) from None
