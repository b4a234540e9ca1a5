"""Reads of the registry: lineage, datasets, models, versions and what proves them."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Exists, OuterRef, Q, QuerySet

from erasure_platform.core import engine
from erasure_platform.core.durations import duration
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.core.models import Job
from erasure_platform.core.selectors import job_get
from erasure_platform.registry.import_sources import engine_source, import_source_check, import_spec_check
from erasure_platform.registry.lineage import rows_by_version
from erasure_platform.registry.models import (
    Alias,
    AliasMove,
    Dataset,
    DatasetVersion,
    IdentityLink,
    IdentityMap,
    Model,
    ModelVersion,
    SubjectRecord,
    VersionStatus,
)
from erasure_platform.registry.services.datasets import engine_error
from erasure_platform.subject_requests.selectors import request_references

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


def linked_keys(subject_key: str) -> QuerySet:
    """The keys identity maps tie to `subject_key` (a subquery). Each map stores every pair of a
    person's keys (engine: read_identity_links closes each person), so one hop finds them all."""
    return IdentityLink.objects.filter(subject_key=subject_key).values("linked_key")


def subject_keys_linked(subject_key: str) -> list[str]:
    """The person's keys: `subject_key` first, then every key an identity map links to it."""
    return [subject_key, *sorted(set(linked_keys(subject_key).values_list("linked_key", flat=True)))]


def _index_rows(condition: Q, record_ids: list[str] | None):
    rows = SubjectRecord.objects.filter(condition)
    if record_ids:
        rows = rows.filter(record_id__in=record_ids)
    return rows.only("dataset_id", "record_id", "valid_from_id", "valid_until_id", "erased_in_id")


def subject_index_rows(subject_keys: list[str], record_ids: list[str] | None = None):
    """The lineage index rows of these keys, only the columns lineage reads: all of them are in the
    covering index, so PostgreSQL answers from the index alone."""
    return _index_rows(Q(subject_key__in=subject_keys), record_ids)


def person_index_rows(subject_key: str, record_ids: list[str] | None = None):
    """The index rows of the person behind `subject_key`, under any key linked to it, in one query."""
    return _index_rows(Q(subject_key=subject_key) | Q(subject_key__in=linked_keys(subject_key)), record_ids)


def lineage_for_subject(*, subject_key: str, record_ids: list[str] | None = None) -> Lineage:
    """Which dataset versions and model versions hold the subject's records (under any key an
    identity map links to theirs): indexed lookups on IdentityLink and SubjectRecord(subject_key)
    and ModelVersion(trained_on), never a scan of the data."""
    history, grouped = rows_by_version(person_index_rows(subject_key, record_ids))
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
    # By dataset (a few ids) rather than by the ~100 versions found; the versions come from the history.
    model_versions = (
        ModelVersion.objects.filter(trained_on__dataset_id__in=history.dataset_ids)
        .exclude(status=VersionStatus.REJECTED)
        .annotate(in_production=Exists(Alias.objects.filter(name=Alias.PRODUCTION, version_id=OuterRef("pk"))))
        .select_related("model")
        .order_by("model__name", "created_at")
    )
    for version in model_versions:
        if version.trained_on_id not in grouped:
            continue
        version.trained_on = history.versions[version.trained_on_id]
        lineage.model_versions.append(
            {"model_version": version, "dataset_version": version.trained_on, "production": version.in_production}
        )
    return lineage


def current_versions_holding(*, subject_keys: list[str], record_ids: list[str] | None = None) -> list[DatasetVersion]:
    """The latest version of each training dataset that still holds the person's records."""
    history, grouped = rows_by_version(subject_index_rows(subject_keys, record_ids).filter(erased_in__isnull=True))
    latest = []
    for dataset_id in {version.dataset_id for version in history.versions.values()}:
        newest = max(pk for pk, version in history.versions.items() if version.dataset_id == dataset_id)
        version = history.versions[newest]
        if newest in grouped and not version.purged and version.dataset.purpose == "training":
            latest.append(version)
    return sorted(latest, key=lambda v: v.dataset.name)


def models_affected(
    *, subject_keys: list[str], record_ids: list[str] | None = None
) -> list[tuple[Model, ModelVersion]]:
    """Models whose production version was trained on a dataset version holding the person's records."""
    _, grouped = rows_by_version(subject_index_rows(subject_keys, record_ids))
    aliases = Alias.objects.filter(name=Alias.PRODUCTION, version__trained_on_id__in=list(grouped))
    return [
        (alias.model, alias.version) for alias in aliases.select_related("model", "version").order_by("model__name")
    ]


def dataset_list() -> QuerySet[Dataset]:
    return Dataset.objects.prefetch_related("versions").order_by("name")


def dataset_summaries() -> list[dict]:
    """Each dataset with its latest version and where its records came from (for the datasets page)."""
    summaries = []
    for dataset in Dataset.objects.order_by("name"):
        latest = dataset.versions.order_by("-id").first()
        summaries.append({"dataset": dataset, "latest": latest, "versions": dataset.versions.count()})
    return summaries


def dataset_import_choices() -> dict:
    """What the import page offers: the allowed locations and the named PostgreSQL sources."""
    return {"roots": list(settings.ERASURE_DATASET_IMPORT_ROOTS), "postgres": sorted(settings.DATASET_SOURCES)}


def identity_map_list() -> QuerySet[IdentityMap]:
    return IdentityMap.objects.order_by("name")


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
            ModelVersion.objects.filter(pk=pk)
            .select_related("model", "trained_on__dataset", "parent", "batch", "verification_job")
            .first()
        )
    except Exception:  # a malformed uuid
        version = None
    if version is None:
        raise NotFound(f"model version {pk} does not exist")
    return version


# The ML team's jobs (training, import, dataset erasure, unlearning, verification), by the app that runs them.
ML_JOB_APPS = ("registry", "orchestration")


def ml_job_get(*, job_id) -> Job:
    """A job of the ML team's pages and API; any other job (reports, diagnostics) is not found here."""
    job = job_get(job_id=job_id)
    if job is None or job.kind.split(".")[0] not in ML_JOB_APPS:
        raise NotFound(f"job {job_id} does not exist")
    return job


def alias_history(*, model: Model) -> QuerySet[AliasMove]:
    return AliasMove.objects.filter(alias__model=model).select_related("from_version", "to_version").order_by("-id")


def batches_for_model(*, model: Model) -> QuerySet:
    """The model's unlearning batches, newest first (orchestration's rows, reached by relation)."""
    return model.batches.order_by("-created_at")


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


def exact_unlearning_evidence(version: ModelVersion) -> dict:
    """What proves an exact-unlearning candidate: each shard's final weights digest, split into the
    shards retrained without the erased records and those reused byte for byte from the parent."""
    mine = list((version.digests or {}).get("shards", []))
    parents = list(((version.parent.digests or {}) if version.parent else {}).get("shards", []))
    if not mine or len(mine) != len(parents):
        raise ApplicationError(
            f"{version} and its parent must both record one weights digest per shard", code="digests_missing"
        )
    return {
        "method": version.method,
        "parent_version": version.parent.version_id,
        "retrained_checkpoints": {str(i): d for i, (d, p) in enumerate(zip(mine, parents)) if d != p},
        "reused_shards": {str(i): d for i, (d, p) in enumerate(zip(mine, parents)) if d == p},
    }


# ------------------------------------------------------------------ for people (portal pages)

LANGUAGE_MODEL_KINDS = ("lm", "lm-lora", "causal_lm")

# Cost entries as people read them: (name, unit); seconds become a duration, fractions a percentage.
COST_ENTRIES = {
    "seconds": ("Time taken", "duration"),
    "time_to_compliance_seconds": ("Time to compliance", "duration"),
    "full_training_seconds": ("A full training run took", "duration"),
    "samples_processed": ("Samples processed", "samples"),
    "slices_retrained": ("Slices retrained", "slices"),
    "slices_trained": ("Slices trained", "slices"),
    "slices_total": ("Slices in the model", "slices"),
    "fraction_of_full_retrain": ("Share of a full retrain (samples)", "percent"),
    "fraction_of_full_retrain_seconds": ("Share of a full retrain (time)", "percent"),
    "steps": ("Optimisation steps", "steps"),
    "seed": ("Random seed", ""),
    "params": ("Method parameters", ""),
    "per_shard": ("Per shard", ""),
}


def _cost_value(key: str, value, unit: str) -> tuple[object, str]:
    if value is None:
        return "—", ""
    if unit == "duration":
        return duration(value)
    if unit == "percent":
        return float(value) * 100, "%"
    if key == "per_shard" and isinstance(value, list):
        parts = []
        for entry in value:
            shown, shown_unit = duration(entry.get("seconds", 0))
            parts.append(
                f"shard {entry.get('shard')}: {shown:,.1f} {shown_unit}, {entry.get('samples_processed', 0):,} samples"
            )
        return "; ".join(parts) or "—", ""
    if isinstance(value, int) and not isinstance(value, bool) and unit:
        return f"{value:,}", unit[:-1] if value == 1 else unit  # counts: 12,345 samples, 1 slice
    return value, unit


def version_cost(*, cost: dict | None) -> list[dict]:
    """The cost of making a version as rows {"name", "value", "unit"} in a fixed order (unknown entries last)."""
    cost = cost or {}
    keys = [key for key in COST_ENTRIES if key in cost] + sorted(key for key in cost if key not in COST_ENTRIES)
    rows = []
    for key in keys:
        name, unit = COST_ENTRIES.get(key, (key, ""))
        value, shown_unit = _cost_value(key, cost[key], unit)
        rows.append({"key": key, "name": name, "value": value, "unit": shown_unit})
    return rows


def metric_unit(*, name: str, kind: str) -> str:
    """What a verification metric's value is measured in, for the model's kind (docs/metrics.md):
    perplexity only for language models, accuracy for classifiers."""
    language = kind in LANGUAGE_MODEL_KINDS
    last = name.rsplit(".", 1)[-1]
    if last.endswith("auc"):  # auc, subject_auc, membership_auc
        return "AUC (0.5 = chance)"
    if last.endswith("tpr_at_low_fpr"):
        return "true-positive rate"
    if last == "forget_quality":
        return "p-value"
    if last == "privleak":
        return "% (0 = like the retrained model)"
    if last == "rouge_l_excess":
        return "ROUGE-L, forget minus holdout"
    if last.endswith("answer_probability_excess"):
        return "probability, forget minus holdout"
    if last.endswith("accuracy_excess"):
        return "share of questions, forget minus holdout"
    if last.endswith("perplexity_increase"):
        return "relative perplexity increase (0.05 = 5%)" if language else "relative increase"
    if last.endswith("knowledge_drop"):
        return "QA accuracy (0.05 = 5 points)"
    if last.endswith("accuracy_drop"):
        return "accuracy (0.02 = 2 points)"
    return ""


def loss_unit(*, kind: str) -> str:
    """The unit of a per-record loss for the model's kind."""
    return "nats per token" if kind in LANGUAGE_MODEL_KINDS else "cross-entropy per record, nats"


def verdict_metrics(*, verdict: dict | None, kind: str) -> list[dict]:
    """The verdict's metrics, each with the unit its value is measured in."""
    return [
        metric | {"unit": metric_unit(name=metric.get("name", ""), kind=kind)}
        for metric in (verdict or {}).get("metrics", [])
    ]


def served_requests(*, version: ModelVersion) -> list[dict]:
    """The requests a version's batch served, by the reference people know: {"reference", "request_id",
    "deadline_at", "status"}."""
    if not version.batch_id:
        return []
    members = list(version.batch.members.select_related("plan"))
    references = request_references(request_ids=[member.plan.request_id for member in members])
    return [
        {
            "reference": references.get(member.plan.request_id, ""),
            "request_id": member.plan.request_id,
            "deadline_at": member.plan.deadline_at,
            "status": member.status,
        }
        for member in members
    ]


def version_verification_state(*, version: ModelVersion) -> dict:
    """Where a candidate's verification stands, for its page: "running" (queued or running: the page
    polls), "failed" (the job failed for good), or None (verdict in, or nothing to verify)."""
    job = version.verification_job if version.verdict is None and version.verification_job_id else None
    if job is None or version.status != VersionStatus.CANDIDATE:
        return {"verification": None}
    if job.status in (Job.Status.QUEUED, Job.Status.RUNNING):
        return {"verification": "running", "verification_progress": job.progress_message}
    if job.status == Job.Status.FAILED:
        return {"verification": "failed", "verification_error": job.error}
    return {"verification": None}


def job_import_report(*, job: Job) -> dict | None:
    """A dataset import's refused rows, for its job page (kept in the job's state, so a refused
    import, which fails, still shows them)."""
    report = (job.state or {}).get("import_report")
    if not report:
        return None
    return {
        "refused": report.get("refused", []),
        "refused_count": report.get("refused_count", 0),
        "rows_read": report.get("rows_read", 0),
        "skip_invalid": bool(report.get("skip_invalid")),
        "files": (report.get("source") or {}).get("files") or [],
    }


def job_result_facts(*, result: dict | None) -> dict:
    """A job's result for people: {"facts": [(name, value)], "cost": rows, "version": pk or None}.
    Identifiers are links, not text; the cost is a table of its own."""
    result = dict(result or {})
    version = result.pop("candidate", None) or result.pop("model_version", None)
    cost = result.pop("cost", None)
    result.pop("plots", None)  # shown on the version page
    result.pop("dataset_version", None)  # an import's row id: its version_id is the fact people read
    restoring = result.pop("restoring", None) or {}
    shard_jobs = sorted((int(shard), job) for shard, job in (restoring.get("shard_jobs") or {}).items())
    facts = []
    for key, value in result.items():
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            value = value or "none"
        facts.append((key, value))
    if restoring:
        facts.append(
            (
                "restoring_retrain",
                f"{len(shard_jobs)} shard job(s) retrain the affected shards (version {restoring.get('version_id')})",
            )
        )
    return {
        "facts": facts,
        "cost": version_cost(cost=cost) if cost else [],
        "version": version,
        "shard_jobs": shard_jobs,  # (shard, job id): links, never text
    }


def dataset_import_preview(*, source: dict, spec) -> dict:
    """What an import would make of the source's first rows (the first 20 records, the refused rows
    among the first 10,000), writing nothing. The same checks as an import's."""
    checked = import_source_check(**source)
    reader = engine_source(checked)
    try:
        return engine.preview_import(
            reader, engine.DatasetSpec.from_dict(import_spec_check(spec)), secret=settings.SUBJECT_KEY_SECRET
        )
    except engine.EngineError as error:
        raise engine_error(error) from None
