"""Bring your own data: import a team's records into a registered dataset, through the engine's
one import path (`erasure_engine.imports`), as a job; and erase at the source what an erasure
removed from a dataset imported from PostgreSQL. Sources and specs are checked by
`registry/import_sources.py`."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from erasure_platform.core import engine
from erasure_platform.core.audit_actions import AuditAction
from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.registry.import_sources import engine_source, import_source_check, import_spec_check
from erasure_platform.registry.models import Dataset, DatasetVersion
from erasure_platform.registry.services.datasets import dataset_version_register, engine_error

DATASET_IMPORT_JOB = "registry.dataset_import"


def _layout_check(value, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 256:
        raise ApplicationError(f"{name} must be an integer from 1 to 256", code="invalid_layout")
    return value


def dataset_import_start(
    *,
    dataset: Dataset,
    source: dict,
    spec,
    actor: str,
    shards: int | None = None,
    slices: int | None = None,
    seed: int | None = None,
    skip_invalid: bool = False,
    any_local_path: bool = False,
):
    """Check what can be checked now (source allowed, spec valid), then import as a job."""
    checked_source = import_source_check(**source, any_local_path=any_local_path)
    params = {
        "dataset_id": dataset.pk,
        "source": checked_source,
        "spec": import_spec_check(spec),
        "shards": _layout_check(shards, "shards"),
        "slices": _layout_check(slices, "slices"),
        "seed": seed,
        "skip_invalid": bool(skip_invalid),
    }
    with transaction.atomic():
        job = job_create(kind=DATASET_IMPORT_JOB, actor=actor, params=params)
        audit_record(
            actor=actor,
            action=AuditAction.DATASET_IMPORT_STARTED,
            entity_type="dataset",
            entity_id=dataset.pk,
            data={"job": str(job.pk), "source": checked_source, "skip_invalid": bool(skip_invalid)},
        )
    return job


def dataset_import_run(
    *, dataset: Dataset, params: dict, actor: str, progress=None
) -> tuple[dict, DatasetVersion | None]:
    """Run an import (the job's body; the demo and tests call it directly) and register the version
    it made. Idempotent: run again, it finds every row already there and registers nothing new."""
    source = engine_source(params["source"])
    try:
        report = engine.import_dataset(
            source,
            engine.DatasetSpec.from_dict(params["spec"]),
            store=platform_object_store(),
            dataset=dataset.name,
            secret=settings.SUBJECT_KEY_SECRET,
            shards=params.get("shards"),
            slices=params.get("slices"),
            seed=params.get("seed"),
            skip_invalid=bool(params.get("skip_invalid")),
            progress=progress,
        ).to_json()
    except engine.EngineError as error:
        raise engine_error(error) from None
    summary = {
        key: report[key]
        for key in ("version_id", "records", "imported", "unchanged", "subjects", "rows_read", "refused_count")
    }
    if not report["accepted"]:
        audit_record(
            actor=actor,
            action=AuditAction.DATASET_IMPORT_REFUSED,
            entity_type="dataset",
            entity_id=dataset.pk,
            data={**summary, "source": report["source"], "first_refused": report["refused"][:10]},
        )
        return report, None
    with transaction.atomic():
        version = dataset_version_register(dataset=dataset, version_id=report["version_id"], actor=actor)
        if report["new_version"]:
            audit_record(
                actor=actor,
                action=AuditAction.DATASET_IMPORTED,
                entity_type="dataset_version",
                entity_id=version.pk,
                data={**summary, "source": report["source"], "skipped_rows": report["refused_count"]},
            )
    return report, version


def dataset_source_erase(
    *, version: DatasetVersion, removed_record_ids: list[str], request_id: str, actor: str
) -> dict:
    """Erase at the source what an erasure removed from `version`'s dataset: a PostgreSQL table's rows
    deleted or masked (one transaction, as the source's erasing role), or — for files — the list of
    source files that are the team's to rewrite. Audited with exactly what changed."""
    source = version.source
    if not source or not removed_record_ids:
        return {"kind": (source or {}).get("kind", "generated"), "action": "none", "rows": 0}
    url = None
    if source.get("kind") == "postgresql" and source.get("name"):
        named = settings.DATASET_SOURCES.get(source["name"])
        if named is None:
            raise Conflict(
                f"{version.dataset.name} was imported from the PostgreSQL source {source['name']!r}, which is not "
                "configured here; set ERASURE_SOURCE_<NAME>_ERASE_URL so erasure can reach it",
                code="source_not_configured",
            )
        url = named["erase_url"]
    try:
        outcome = engine.erase_from_source(source, removed_record_ids, url=url)
    except engine.EngineError as error:
        raise engine_error(error) from None
    audit_record(
        actor=actor,
        action=AuditAction.DATASET_SOURCE_ERASED,
        entity_type="dataset_version",
        entity_id=version.pk,
        data={"dataset": version.dataset.name, "request_id": request_id, **outcome},
    )
    return outcome
