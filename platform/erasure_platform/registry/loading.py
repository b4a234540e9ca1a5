"""Loading registry versions and datasets through the engine, for unlearning and verification.

A SISA version is evaluated as the engine's ensemble module (`ShardEnsemble.as_module()`):
one nn.Module over every shard, which verify() can fine-tune and quantize like any model."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from torch import nn

from erasure_platform.core.engine import (
    Artifact,
    DatasetStore,
    InvalidInput,
    download_dir,
    has_tokenizer,
    load_ensemble,
    load_saved_model,
    load_tokenizer,
    memory_preflight,
    resolve_device,
    resolve_dtype,
    saved_model_shape,
)
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.registry.models import DatasetVersion, ModelVersion, VersionLayout


def load_for_evaluation(version: ModelVersion) -> tuple[nn.Module, object]:
    """(module, tokenizer or None) for a registry version."""
    store = platform_object_store()
    if version.layout == VersionLayout.SISA:
        ensemble = load_ensemble(store, version.model.name, version.version_id)
        return ensemble.as_module(), ensemble.tokenizer
    return load_plain(version)


def load_plain(
    version: ModelVersion, *, device: str = "cpu", memory_job: str | None = None, batch_size: int = 8
) -> tuple[nn.Module, object]:
    """(model, tokenizer or None) of a plain version, loaded as its own architecture through the
    engine's refusing loader. With `memory_job` (an approximate method or "verify"), a causal LM's
    memory need is estimated first and a job that cannot fit on `device` is refused."""
    artifact = Artifact.from_dict(version.artifact)
    with tempfile.TemporaryDirectory(prefix="registry-model-") as workdir:
        directory = download_dir(platform_object_store(), artifact, Path(workdir) / "model")
        target = resolve_device(device)
        options = {"device": target, "dtype": resolve_dtype(None, target)}
        is_lm = json.loads((directory / "config.json").read_text()).get("model_type") != "mlp_classifier"
        if memory_job and is_lm:
            memory_preflight(
                saved_model_shape(directory), memory_job, device=target, dtype=options["dtype"], batch_size=batch_size
            )
        model = load_saved_model(directory, **options) if is_lm else load_saved_model(directory)
        tokenizer = load_tokenizer(directory) if has_tokenizer(directory) else None
    return model.eval(), tokenizer


def dataset_records(version: DatasetVersion):
    return DatasetStore(platform_object_store(), version.dataset.name).load_version(version.version_id).records()


def engine_dataset(version: DatasetVersion):
    return DatasetStore(platform_object_store(), version.dataset.name).load_version(version.version_id)


def erasures_since(trained_on: DatasetVersion) -> tuple[DatasetVersion, list[dict]]:
    """(latest version of the dataset, every record removed by erasures between them)."""
    latest = trained_on.dataset.versions.order_by("-id").first()
    removed: list[dict] = []
    cursor = latest
    while cursor is not None and cursor.pk != trained_on.pk:
        if not cursor.erasure:
            raise InvalidInput(f"{cursor} was not made by an erasure of {trained_on}; retrain instead of unlearning")
        removed.extend(cursor.erasure.get("removed", []))
        cursor = cursor.parent
    if cursor is None:
        raise InvalidInput(f"{latest} does not descend from {trained_on}")
    return latest, removed
