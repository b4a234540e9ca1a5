"""Bring your own model: register a model version trained elsewhere (a save_pretrained directory,
local or under an s3:// prefix) with the dataset version it was trained on.

The import loads the model with the engine's refusing loader (its own architecture, safetensors
only, weights matching the config) before anything is recorded, copies its files into the
platform's object store with their sha256, and records a plain-layout version: lineage finds it
through `trained_on`, and a granted erasure runs the model's approximate method on it."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.db import transaction

from erasure_platform.core import engine
from erasure_platform.core.engine import EngineError
from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.registry.import_sources import model_location_check
from erasure_platform.registry.models import Alias, DatasetPurpose, DatasetVersion, Model, ModelKind, ModelVersion
from erasure_platform.registry.services.datasets import engine_error
from erasure_platform.registry.services.models import model_facts, model_version_record_plain
from erasure_platform.registry.services.release import release_initial

IMPORT_JOB = "registry.import"
VERSION_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
IMPORTABLE_KINDS = (ModelKind.LM, ModelKind.CLASSIFIER)


def _check_request(*, model: Model, trained_on: DatasetVersion, version_id: str | None) -> None:
    if model.kind not in IMPORTABLE_KINDS:
        raise ApplicationError(
            f"model {model.name} is {model.kind}: only lm and classifier models take imported versions",
            code="invalid_kind",
        )
    if trained_on.dataset.purpose != DatasetPurpose.TRAINING:
        raise ApplicationError(f"{trained_on} is a holdout dataset; models never train on it", code="invalid_dataset")
    if version_id is not None and not VERSION_ID.match(version_id):
        raise ApplicationError(
            f"invalid version id {version_id!r}: lowercase letters, digits, '.', '_' or '-'", code="invalid_version_id"
        )


def _fetch(source: str, target: Path) -> Path:
    """The files of `source` in `target` (an s3:// prefix is downloaded; a local directory copied)."""
    if not source.startswith("s3://"):
        shutil.copytree(source, target, symlinks=False)
        return target
    try:
        return engine.download_prefix(source, target, endpoint_url=settings.OBJECT_STORE_ENDPOINT_URL)
    except EngineError as error:
        raise ApplicationError(f"no model files under {source} ({error.message})", code="invalid_source") from None


def _inspect(directory: Path, *, kind: str) -> tuple[dict, str]:
    """(provenance facts, weights digest) after loading with the engine's refusing loader."""

    model = engine.load_saved_model(directory)
    is_lm = hasattr(model, "get_input_embeddings")
    if is_lm != (kind == ModelKind.LM):
        found = "a causal language model" if is_lm else "a classifier"
        raise ApplicationError(
            f"the directory holds {found}, but this model is registered as {kind}", code="kind_mismatch"
        )
    if is_lm:
        if not engine.has_tokenizer(directory):
            raise ApplicationError(
                "a language model must ship its tokenizer (tokenizer.json) in the same directory",
                code="tokenizer_missing",
            )
        tokenizer = engine.load_tokenizer(directory)
        vocabulary = model.get_input_embeddings().num_embeddings
        if len(tokenizer) > vocabulary:
            raise ApplicationError(
                f"the tokenizer has {len(tokenizer)} tokens but the model's vocabulary holds {vocabulary}",
                code="tokenizer_mismatch",
            )
    facts = model_facts(model)
    return facts, engine.weights_digest(model)


def model_version_import(
    *,
    model: Model,
    source: str,
    trained_on: DatasetVersion,
    actor: str,
    version_id: str | None = None,
    make_production: bool = False,
    any_local_path: bool = False,
    job=None,
) -> ModelVersion:
    """Validate, copy and record an existing model version. Idempotent for the same files."""

    _check_request(model=model, trained_on=trained_on, version_id=version_id)
    source = model_location_check(source, any_local_path=any_local_path)
    with tempfile.TemporaryDirectory(prefix="registry-import-") as workdir:
        directory = _fetch(source, Path(workdir) / "model")
        try:
            facts, digest = _inspect(directory, kind=model.kind)
        except EngineError as error:
            raise engine_error(error) from None
        version_id = version_id or f"import-{digest[:12]}"
        existing = ModelVersion.objects.filter(model=model, version_id=version_id).first()
        if existing is not None:
            if existing.digests.get("weights") != digest:
                raise Conflict(
                    f"{model.name} already has a version {version_id} with other weights", code="version_exists"
                )
            return existing
        artifact = engine.upload_dir(
            platform_object_store(),
            f"models/{model.name}/versions/{version_id}/model",
            directory,
            weights_digest=digest,
        )

    provenance = {"source": source, **facts}
    with transaction.atomic():
        version = model_version_record_plain(
            model=model,
            version_id=version_id,
            artifact=artifact.to_dict(),
            trained_on=trained_on,
            actor=actor,
            job=job,
            method="import",
            provenance=provenance,
        )
        audit_record(
            actor=actor,
            action="model_version.imported",
            entity_type="model_version",
            entity_id=version.pk,
            data={
                "model": model.name,
                "version_id": version_id,
                "trained_on": str(trained_on),
                **provenance,
                "weights_digest": digest,
                "files": artifact.files,
            },
        )
        if make_production:
            version = release_initial(
                version=version, actor=actor, reason="imported as the model's first production version"
            )
    return version


def model_version_import_start(
    *,
    model: Model,
    source: str,
    trained_on: DatasetVersion,
    actor: str,
    version_id: str | None = None,
    make_production: bool = False,
):
    """Check what can be checked now, then run the import (download + loading) as a job."""
    _check_request(model=model, trained_on=trained_on, version_id=version_id)
    source = model_location_check(source, any_local_path=False)
    if make_production and Alias.objects.filter(model=model, name=Alias.PRODUCTION).exists():
        raise Conflict(
            f"model {model.name} already has a production version; release the import through approval",
            code="already_released",
        )
    return job_create(
        kind=IMPORT_JOB,
        actor=actor,
        params={
            "model_id": model.pk,
            "source": source,
            "dataset_version_id": trained_on.pk,
            "version_id": version_id,
            "make_production": bool(make_production),
        },
    )
