"""Identity maps: import which identifiers are one person's (e-mail ↔ customer ids) from a team's
source, stored as pairs of subject keys; erase a person's links with their request.

An import replaces the map's links as a whole (the source is the truth of who is whom), in one
transaction: a refused import changes nothing. Links are stored in both directions, so the
lineage lookup (`registry.selectors.subject_keys_linked`) is one indexed read per hop."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from erasure_platform.core import engine
from erasure_platform.core.audit_actions import AuditAction
from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.registry.import_sources import engine_source, import_source_check
from erasure_platform.registry.models import IdentityLink, IdentityMap
from erasure_platform.registry.services.datasets import engine_error

IDENTITY_MAP_IMPORT_JOB = "registry.identity_map_import"
LINK_BATCH = 5000


def identity_map_spec_check(spec) -> dict:
    """The identity map spec (an object, or JSON/YAML text) validated by the engine."""
    try:
        if isinstance(spec, str):
            return engine.parse_spec_text(spec, engine.IdentityMapSpec).to_dict()
        return engine.IdentityMapSpec.from_dict(spec).to_dict()
    except engine.EngineError as error:
        raise engine_error(error) from None


def identity_map_get_or_register(*, name: str, actor: str, description: str = "") -> IdentityMap:
    try:
        engine.check_dataset_name(name)  # the same naming rule as datasets
    except engine.EngineError as error:
        raise engine_error(error) from None
    identity_map = IdentityMap.objects.filter(name=name).first()
    if identity_map is not None:
        return identity_map
    with transaction.atomic():
        identity_map = IdentityMap.objects.create(name=name, description=description[:500], created_by=actor)
        audit_record(
            actor=actor,
            action=AuditAction.IDENTITY_MAP_REGISTERED,
            entity_type="identity_map",
            entity_id=identity_map.pk,
            data={"name": name},
        )
    return identity_map


def identity_map_import_start(
    *, name: str, source: dict, spec, actor: str, skip_invalid: bool = False, any_local_path: bool = False
):
    """Check the source and spec now, then import the map as a job."""
    params = {
        "name": name,
        "source": import_source_check(**source, any_local_path=any_local_path),
        "spec": identity_map_spec_check(spec),
        "skip_invalid": bool(skip_invalid),
    }
    identity_map = identity_map_get_or_register(name=name, actor=actor)
    return job_create(kind=IDENTITY_MAP_IMPORT_JOB, actor=actor, params={**params, "map_id": identity_map.pk})


def identity_map_import_run(*, identity_map: IdentityMap, params: dict, actor: str) -> dict:
    """Read the source's links and replace the map's with them (or change nothing when rows were
    refused). Returns the report's summary (counts and refused rows; never a key)."""
    try:
        report = engine.read_identity_links(
            engine_source(params["source"]),
            engine.IdentityMapSpec.from_dict(params["spec"]),
            secret=settings.SUBJECT_KEY_SECRET,
            skip_invalid=bool(params.get("skip_invalid")),
        )
    except engine.EngineError as error:
        raise engine_error(error) from None
    summary = report.summary()
    if not report.accepted:
        audit_record(
            actor=actor,
            action=AuditAction.IDENTITY_MAP_IMPORT_REFUSED,
            entity_type="identity_map",
            entity_id=identity_map.pk,
            data={k: summary[k] for k in ("rows_read", "refused_count", "source")}
            | {"first_refused": report.refused[:10]},
        )
        return summary
    with transaction.atomic():
        removed = IdentityLink.objects.filter(identity_map=identity_map).delete()[0]
        rows = []
        for first, second in report.links:
            rows.append(IdentityLink(identity_map=identity_map, subject_key=first, linked_key=second))
            rows.append(IdentityLink(identity_map=identity_map, subject_key=second, linked_key=first))
            if len(rows) >= LINK_BATCH:
                IdentityLink.objects.bulk_create(rows)
                rows = []
        IdentityLink.objects.bulk_create(rows)
        identity_map.source = report.source
        identity_map.link_count = len(report.links)
        identity_map.save(update_fields=["source", "link_count", "updated_at"])
        audit_record(
            actor=actor,
            action=AuditAction.IDENTITY_MAP_IMPORTED,
            entity_type="identity_map",
            entity_id=identity_map.pk,
            data={
                "links": len(report.links),
                "people": report.people,
                "rows_read": report.rows_read,
                "skipped_rows": report.refused_count,
                "links_replaced": removed // 2,
                "source": report.source,
            },
        )
    return summary


def identity_links_erase(*, subject_keys: list[str], request_id: str, actor: str) -> dict:
    """Delete every link of the person's keys, in every map (the maps' own entries for them); audited
    per map with the number of links removed. Idempotent: a second call finds none."""
    if not subject_keys:
        raise ApplicationError("name the person's keys", code="invalid_subject_key")
    erased: dict[str, int] = {}
    with transaction.atomic():
        links = IdentityLink.objects.filter(subject_key__in=subject_keys) | IdentityLink.objects.filter(
            linked_key__in=subject_keys
        )
        for identity_map in IdentityMap.objects.filter(pk__in=links.values("identity_map_id")).order_by("name"):
            count = links.filter(identity_map=identity_map).delete()[0]
            IdentityMap.objects.filter(pk=identity_map.pk).update(
                link_count=max(identity_map.link_count - count // 2, 0)
            )
            erased[identity_map.name] = count // 2
            audit_record(
                actor=actor,
                action=AuditAction.IDENTITY_MAP_ENTRIES_ERASED,
                entity_type="identity_map",
                entity_id=identity_map.pk,
                data={"request_id": request_id, "links_removed": count // 2},
            )
    return erased
