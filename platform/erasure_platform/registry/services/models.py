"""Models, model versions, consumers: registration and the training job's result."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from erasure_platform.core import engine
from erasure_platform.core.engine import EngineError
from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.registry.import_sources import model_location_check
from erasure_platform.registry.models import (
    Consumer,
    DatasetPurpose,
    DatasetVersion,
    Model,
    ModelKind,
    ModelVersion,
    VersionLayout,
    VersionStatus,
)
from erasure_platform.registry.services.datasets import engine_error

TRAIN_JOB = "registry.train"


def _check_method(method: str, params: dict) -> dict:
    try:
        spec = engine.get_method(method)
        return engine.resolve_params(method, spec.params, params or {})
    except EngineError as error:
        raise ApplicationError(
            str(error), code="invalid_method", details={"known": sorted(engine.available_methods())}
        ) from None


def _check_policy(policy: dict) -> dict:
    try:
        engine.VerificationPolicy.from_dict(policy or {})
        return dict(policy or {})
    except EngineError as error:
        raise ApplicationError(str(error), code="invalid_policy") from None


def _check_holdout(holdout: DatasetVersion | None) -> None:
    if holdout is not None and holdout.dataset.purpose != DatasetPurpose.HOLDOUT:
        raise ApplicationError(f"{holdout} is not a holdout dataset (never-seen subjects)", code="invalid_holdout")


def model_register(
    *,
    name: str,
    kind: str,
    actor: str,
    description: str = "",
    approximate_method: str = "gradient_difference",
    approximate_params: dict | None = None,
    verification_policy: dict | None = None,
    holdout: DatasetVersion | None = None,
) -> Model:
    try:
        engine.check_model_name(name)
    except EngineError as error:
        raise engine_error(error) from None
    if kind not in engine.MODEL_KINDS:
        raise ApplicationError(f"kind must be one of {list(engine.MODEL_KINDS)}", code="invalid_kind")
    params = _check_method(approximate_method, approximate_params or {})
    policy = _check_policy(verification_policy or {})
    _check_holdout(holdout)
    if Model.objects.filter(name=name).exists():
        raise Conflict(f"model {name!r} is already registered", code="model_exists")
    with transaction.atomic():
        model = Model.objects.create(
            name=name,
            kind=kind,
            description=description[:500],
            approximate_method=approximate_method,
            approximate_params=params,
            verification_policy=policy,
            holdout=holdout,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            action="model.registered",
            entity_type="model",
            entity_id=model.pk,
            data={
                "name": name,
                "kind": kind,
                "approximate_method": approximate_method,
                "approximate_params": params,
                "verification_policy": policy,
                "holdout": str(holdout) if holdout else None,
            },
        )
    return model


def model_update_settings(
    *,
    model: Model,
    actor: str,
    approximate_method: str | None = None,
    approximate_params: dict | None = None,
    verification_policy: dict | None = None,
    holdout: DatasetVersion | None = None,
) -> Model:
    changes = {}
    with transaction.atomic():
        model = Model.objects.select_for_update().get(pk=model.pk)
        if approximate_method is not None or approximate_params is not None:
            method = approximate_method or model.approximate_method
            model.approximate_params = _check_method(
                method, approximate_params if approximate_params is not None else {}
            )
            model.approximate_method = method
            changes.update(approximate_method=method, approximate_params=model.approximate_params)
        if verification_policy is not None:
            model.verification_policy = _check_policy(verification_policy)
            changes["verification_policy"] = model.verification_policy
        if holdout is not None:
            _check_holdout(holdout)
            model.holdout = holdout
            changes["holdout"] = str(holdout)
        model.save()
        audit_record(
            actor=actor, action="model.settings_changed", entity_type="model", entity_id=model.pk, data=changes
        )
    return model


def model_version_record_sisa(
    *,
    model: Model,
    engine_version,
    trained_on: DatasetVersion | None,
    actor: str,
    job=None,
    parent: ModelVersion | None = None,
    batch=None,
    method: str = "train",
) -> ModelVersion:
    """Register an engine SISA ModelVersion (trained or exactly unlearned) as a candidate. Idempotent."""
    existing = ModelVersion.objects.filter(model=model, version_id=engine_version.version_id).first()
    if existing is not None:
        return existing
    store = platform_object_store()
    with transaction.atomic():
        version = ModelVersion.objects.create(
            model=model,
            version_id=engine_version.version_id,
            layout=VersionLayout.SISA,
            artifact_url=store.url(f"{engine.version_prefix(model.name, engine_version.version_id)}/manifest.json"),
            digests={"shards": engine_version.shard_digests},
            trained_on=trained_on,
            parent=parent,
            method=method,
            created_by=actor,
            created_by_job=job,
            batch=batch,
            cost=engine_version.cost,
        )
        audit_record(
            actor=actor,
            action="model_version.created",
            entity_type="model_version",
            entity_id=version.pk,
            data={
                "model": model.name,
                "version_id": version.version_id,
                "method": method,
                "layout": "sisa",
                "digests": version.digests,
                "trained_on": str(trained_on) if trained_on else None,
                "parent": parent.version_id if parent else None,
            },
        )
    return version


def model_facts(module) -> dict:
    """What a version's page and API show of the model it holds: its class, its size, its config's
    model type (and, for a language model, the dtype of its weights)."""
    facts = {"architecture": type(module).__name__, "parameters": sum(p.numel() for p in module.parameters())}
    config = getattr(module, "config", None)
    if config is not None:
        facts["model_type"] = getattr(config, "model_type", None) or config.to_dict().get("model_type")
    if hasattr(module, "get_input_embeddings"):
        facts["dtype"] = str(next(module.parameters()).dtype).removeprefix("torch.")
    return facts


def model_version_record_plain(
    *,
    model: Model,
    version_id: str,
    artifact: dict,
    trained_on: DatasetVersion | None,
    actor: str,
    job=None,
    parent: ModelVersion | None = None,
    batch=None,
    method: str = "import",
    cost: dict | None = None,
    provenance: dict | None = None,
) -> ModelVersion:
    """Register a plain (save_pretrained) artifact already in the object store, with `provenance`
    (model_facts of the model it holds, and where it came from). Idempotent."""
    existing = ModelVersion.objects.filter(model=model, version_id=version_id).first()
    if existing is not None:
        return existing
    store = platform_object_store()
    for relative in artifact.get("files", {}):
        if not store.exists(f"{artifact['prefix']}/{relative}"):
            raise ApplicationError(
                f"artifact file {artifact['prefix']}/{relative} is not in the object store", code="artifact_missing"
            )
    with transaction.atomic():
        version = ModelVersion.objects.create(
            model=model,
            version_id=version_id,
            layout=VersionLayout.PLAIN,
            artifact_url=store.url(artifact["prefix"]),
            artifact=artifact,
            digests={"weights": artifact.get("weights_digest", ""), "files": artifact.get("files", {})},
            trained_on=trained_on,
            parent=parent,
            method=method,
            created_by=actor,
            created_by_job=job,
            batch=batch,
            cost=cost or {},
            provenance=provenance or {},
        )
        audit_record(
            actor=actor,
            action="model_version.created",
            entity_type="model_version",
            entity_id=version.pk,
            data={
                "model": model.name,
                "version_id": version_id,
                "method": method,
                "layout": "plain",
                "weights_digest": artifact.get("weights_digest", ""),
                "trained_on": str(trained_on) if trained_on else None,
                "parent": parent.version_id if parent else None,
            },
        )
    return version


def _base_check(model: Model, base: dict) -> dict:
    """The team's pretrained base of an lm-lora model: a save_pretrained directory (weights and
    tokenizer) or s3:// prefix under ERASURE_MODEL_IMPORT_ROOTS."""
    if model.kind != ModelKind.LM_LORA:
        raise ApplicationError(
            f"model {model.name} is {model.kind}: a pretrained base is adapted by lm-lora models", code="invalid_kind"
        )
    if not isinstance(base, dict) or set(base) != {"location"}:
        raise ApplicationError('name the base as {"location": <directory or s3:// prefix>}', code="invalid_base")
    return {"location": model_location_check(base["location"])}


def model_train_start(
    *, model: Model, dataset_version: DatasetVersion, actor: str, config: dict | None = None, base: dict | None = None
):
    """Start a `registry.train` job (SISA training of a new version on a dataset version); an lm-lora
    model may adapt the team's own pretrained `base` instead of a base trained here."""

    if dataset_version.purged:
        raise Conflict(f"{dataset_version} was purged by an erasure; train on a current version", code="version_purged")
    if dataset_version.dataset.purpose != DatasetPurpose.TRAINING:
        raise ApplicationError(
            f"{dataset_version} is a holdout dataset; models never train on it", code="invalid_dataset"
        )
    config = {**(config or {}), "kind": model.kind}
    try:
        engine.SisaConfig.from_dict(config)
    except (EngineError, TypeError) as error:
        raise ApplicationError(f"invalid training config: {error}", code="invalid_config") from None
    params = {"model_id": model.pk, "dataset_version_id": dataset_version.pk, "config": config}
    if base is not None:
        params["base"] = _base_check(model, base)
    return job_create(kind=TRAIN_JOB, params=params, actor=actor)


def consumer_register(
    *, model: Model, name: str, email: str, actor: str, pinned_version: ModelVersion | None = None
) -> Consumer:

    if not name.strip():
        raise ApplicationError("a consumer needs a name", code="invalid_name")
    try:
        validate_email(email)
    except ValidationError:
        raise ApplicationError(f"{email!r} is not an email address", code="invalid_email") from None
    if pinned_version is not None and pinned_version.model_id != model.pk:
        raise ApplicationError("the pinned version belongs to another model", code="invalid_version")
    with transaction.atomic():
        consumer = Consumer.objects.create(
            model=model, name=name.strip()[:200], email=email, pinned_version=pinned_version, created_by=actor
        )
        audit_record(
            actor=actor,
            action="consumer.registered",
            entity_type="model",
            entity_id=model.pk,
            data={
                "consumer": consumer.pk,
                "name": consumer.name,
                "email": email,
                "pinned_version": pinned_version.version_id if pinned_version else None,
            },
        )
    return consumer


def engine_model_version(version: ModelVersion):
    return engine.ModelRegistry(platform_object_store()).load(version.model.name, version.version_id)


__all__ = [
    "TRAIN_JOB",
    "consumer_register",
    "engine_model_version",
    "model_register",
    "model_train_start",
    "model_update_settings",
    "model_version_record_plain",
    "model_version_record_sisa",
    "VersionStatus",
]
