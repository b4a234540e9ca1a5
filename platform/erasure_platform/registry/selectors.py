"""Reads of the registry: lineage, versions, batches, plans."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef, Q, QuerySet

from erasure_platform.core.errors import NotFound
from erasure_platform.registry.lineage import rows_by_version
from erasure_platform.registry.models import (
    Alias,
    AliasMove,
    BatchStatus,
    Dataset,
    DatasetVersion,
    ErasurePlan,
    Model,
    ModelVersion,
    SubjectRecord,
    UnlearningBatch,
    VersionStatus,
)

VERDICT_PASSED, VERDICT_FAILED, VERDICT_INCONCLUSIVE = "passed", "failed", "inconclusive"

# What stands behind a released version (stated on certificates).
PROOF_EXACT = "exact_by_construction"
PROOF_VERIFIED = "verified_approximate"
PROOF_INCONCLUSIVE = "released_on_inconclusive_with_justification"
PROOF_OVERRIDDEN = "released_on_failed_with_override"


def verdict_outcome(verdict: dict | None) -> str | None:
    """passed / failed / inconclusive; verdicts written before the three outcomes only say passed or not."""
    if not verdict:
        return None
    outcome = verdict.get("outcome")
    if outcome in (VERDICT_PASSED, VERDICT_FAILED, VERDICT_INCONCLUSIVE):
        return outcome
    return VERDICT_PASSED if verdict.get("passed") else VERDICT_FAILED


def release_proof(verdict: dict | None) -> str | None:
    """The kind of proof a release on this verdict rests on (before any override)."""
    outcome = verdict_outcome(verdict)
    if outcome is None:
        return None
    if outcome == VERDICT_PASSED:
        return PROOF_EXACT if verdict.get("basis") == "exact_by_construction" else PROOF_VERIFIED
    return PROOF_INCONCLUSIVE if outcome == VERDICT_INCONCLUSIVE else PROOF_OVERRIDDEN


def production_version(*, model: Model) -> ModelVersion | None:
    alias = Alias.objects.filter(model=model, name=Alias.PRODUCTION).select_related("version").first()
    return alias.version if alias else None


@dataclass
class Lineage:
    subject_key: str
    dataset_versions: list[dict] = field(default_factory=list)  # {"dataset_version", "record_ids", "erased"}
    model_versions: list[dict] = field(default_factory=list)  # {"model_version", "dataset_version", "production"}


def subject_index_rows(subject_key: str, record_ids: list[str] | None = None):
    """A subject's lineage index rows, only the columns lineage reads: all of them are in the
    covering index, so PostgreSQL answers from the index alone."""
    rows = SubjectRecord.objects.filter(subject_key=subject_key)
    if record_ids:
        rows = rows.filter(record_id__in=record_ids)
    return rows.only("dataset_id", "record_id", "valid_from_id", "valid_until_id", "erased_in_id")


def lineage_for_subject(*, subject_key: str, record_ids: list[str] | None = None) -> Lineage:
    """Which dataset versions and model versions hold the subject's records: indexed lookups
    on SubjectRecord(subject_key) and ModelVersion(trained_on), never a scan of the data."""
    history, grouped = rows_by_version(subject_index_rows(subject_key, record_ids))
    lineage = Lineage(subject_key=subject_key)
    if not grouped:
        return lineage
    for pk in sorted(grouped):
        version = history.versions[pk]
        record_ids_held = sorted({row.record_id for row in grouped[pk] if row.erased_in_id is None})
        lineage.dataset_versions.append(
            {
                "dataset_version": version,
                "record_ids": record_ids_held,
                "erased_record_ids": sorted({row.record_id for row in grouped[pk] if row.erased_in_id is not None}),
                "holds_data": bool(record_ids_held) and not version.purged,
            }
        )
    model_versions = (
        ModelVersion.objects.filter(trained_on_id__in=list(grouped))
        .exclude(status=VersionStatus.REJECTED)
        .annotate(in_production=Exists(Alias.objects.filter(name=Alias.PRODUCTION, version_id=OuterRef("pk"))))
        .select_related("model", "trained_on__dataset")
        .order_by("model__name", "created_at")
    )
    for version in model_versions:
        lineage.model_versions.append(
            {"model_version": version, "dataset_version": version.trained_on, "production": version.in_production}
        )
    return lineage


def current_versions_holding(*, subject_key: str, record_ids: list[str] | None = None) -> list[DatasetVersion]:
    """The latest version of each training dataset that still holds the subject's records."""
    history, grouped = rows_by_version(subject_index_rows(subject_key, record_ids).filter(erased_in__isnull=True))
    latest = []
    for dataset_id in {version.dataset_id for version in history.versions.values()}:
        newest = max(pk for pk, version in history.versions.items() if version.dataset_id == dataset_id)
        version = history.versions[newest]
        if newest in grouped and not version.purged and version.dataset.purpose == "training":
            latest.append(version)
    return sorted(latest, key=lambda v: v.dataset.name)


def models_affected(*, subject_key: str, record_ids: list[str] | None = None) -> list[tuple[Model, ModelVersion]]:
    """Models whose production version was trained on a dataset version holding the subject."""
    _, grouped = rows_by_version(subject_index_rows(subject_key, record_ids))
    aliases = Alias.objects.filter(name=Alias.PRODUCTION, version__trained_on_id__in=list(grouped))
    return [
        (alias.model, alias.version) for alias in aliases.select_related("model", "version").order_by("model__name")
    ]


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.prefetch_related("versions").order_by("name")


def dataset_get(*, name: str) -> Dataset:
    dataset = Dataset.objects.filter(name=name).first()
    if dataset is None:
        raise NotFound(f"dataset {name!r} is not registered")
    return dataset


def dataset_version_get(*, pk) -> DatasetVersion:
    version = DatasetVersion.objects.filter(pk=pk).select_related("dataset").first()
    if version is None:
        raise NotFound(f"dataset version {pk} does not exist")
    return version


def training_dataset_versions() -> QuerySet[DatasetVersion]:
    """Unpurged versions of training datasets: what an imported model may say it was trained on."""
    return (
        DatasetVersion.objects.filter(dataset__purpose="training", purged=False)
        .select_related("dataset")
        .order_by("dataset__name", "id")
    )


def model_list() -> QuerySet[Model]:
    return Model.objects.order_by("name")


def model_get(*, name: str) -> Model:
    model = Model.objects.filter(name=name).first()
    if model is None:
        raise NotFound(f"model {name!r} is not registered")
    return model


def model_versions(*, model: Model) -> QuerySet[ModelVersion]:
    return model.versions.select_related("trained_on__dataset", "parent", "batch").order_by("-created_at")


def model_version_get(*, pk) -> ModelVersion:
    try:
        version = (
            ModelVersion.objects.filter(pk=pk).select_related("model", "trained_on__dataset", "parent", "batch").first()
        )
    except Exception:  # a malformed uuid
        version = None
    if version is None:
        raise NotFound(f"model version {pk} does not exist")
    return version


def alias_history(*, model: Model) -> QuerySet[AliasMove]:
    return AliasMove.objects.filter(alias__model=model).select_related("from_version", "to_version").order_by("-id")


def batch_get(*, pk) -> UnlearningBatch:
    try:
        batch = UnlearningBatch.objects.filter(pk=pk).select_related("model", "parent_version", "unlearn_job").first()
    except Exception:
        batch = None
    if batch is None:
        raise NotFound(f"unlearning batch {pk} does not exist")
    return batch


def batches_for_model(*, model: Model) -> QuerySet[UnlearningBatch]:
    return model.batches.order_by("-created_at")


def open_batch(*, model: Model) -> UnlearningBatch | None:
    return model.batches.filter(status=BatchStatus.OPEN).first()


def plan_get(*, request_id: str) -> ErasurePlan:
    plan = ErasurePlan.objects.filter(request_id=str(request_id)).first()
    if plan is None:
        raise NotFound(f"no erasure plan for request {request_id}")
    return plan


def candidates_awaiting_approval() -> QuerySet[ModelVersion]:
    return (
        ModelVersion.objects.filter(status=VersionStatus.CANDIDATE)
        .filter(Q(verdict__isnull=False) | Q(batch__isnull=True))
        .select_related("model")
        .order_by("created_at")
    )


def model_version_by_engine_id(*, model_name: str, version_id: str) -> ModelVersion | None:
    """The registry row for an engine version id named in lineage or completion records."""
    return ModelVersion.objects.select_related("model").filter(model__name=model_name, version_id=version_id).first()
