"""Loading registry versions and datasets through the engine, for unlearning and verification.

A SISA version is evaluated as the engine's ensemble module (`ShardEnsemble.as_module()`):
one nn.Module over every shard, which verify() can fine-tune and quantize like any model."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from erasure_platform.core import engine
from erasure_platform.core.engine import DatasetStore, InvalidInput
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.registry.models import DatasetVersion, ModelVersion, VersionLayout

if TYPE_CHECKING:
    from torch import nn  # annotations only: the web role imports this module and never torch


def load_for_evaluation(version: ModelVersion) -> tuple[nn.Module, object]:
    """(module, tokenizer or None) for a registry version."""
    store = platform_object_store()
    if version.layout == VersionLayout.SISA:
        ensemble = engine.load_ensemble(store, version.model.name, version.version_id)
        return ensemble.as_module(), ensemble.tokenizer
    return load_plain(version)


def load_plain(
    version: ModelVersion, *, device: str = "cpu", memory_job: str | None = None, batch_size: int = 8
) -> tuple[nn.Module, object]:
    """(model, tokenizer or None) of a plain version, loaded as its own architecture through the
    engine's refusing loader. With `memory_job` (an approximate method or "verify"), a causal LM's
    memory need is estimated first and a job that cannot fit on `device` is refused."""
    artifact = engine.Artifact.from_dict(version.artifact)
    with tempfile.TemporaryDirectory(prefix="registry-model-") as workdir:
        directory = engine.download_dir(platform_object_store(), artifact, Path(workdir) / "model")
        target = engine.resolve_device(device)
        options = {"device": target, "dtype": engine.resolve_dtype(None, target)}
        is_lm = json.loads((directory / "config.json").read_text()).get("model_type") != "mlp_classifier"
        if memory_job and is_lm:
            engine.memory_preflight(
                engine.saved_model_shape(directory),
                memory_job,
                device=target,
                dtype=options["dtype"],
                batch_size=batch_size,
            )
        model = engine.load_saved_model(directory, **options) if is_lm else engine.load_saved_model(directory)
        tokenizer = engine.load_tokenizer(directory) if engine.has_tokenizer(directory) else None
    return model.eval(), tokenizer


def shard_references(version: ModelVersion, records) -> tuple[list, dict]:
    """The LiRA references a SISA version gives: its active shards' models, each with the subjects
    its shard trained on (from the manifest of the dataset version it was trained on; `records`,
    the forget set, may have been erased from it since). Returns (references, summary for the
    verdict: source, version, shards, count, and the reason when there are none). None at all when a
    forget record would have no shard OUT for its subject (one active shard, or an unknown place)."""
    summary = {"source": "parent_shards", "version": version.version_id, "shards": [], "count": 0}
    if version.layout != VersionLayout.SISA or version.trained_on is None:
        return [], summary | {"reason": "the version has no shards with known training data"}
    store = platform_object_store()
    manifest = engine.ModelRegistry(store).load(version.model.name, version.version_id)
    trained_on = version.trained_on
    dataset = DatasetStore(store, trained_on.dataset.name).load_version(trained_on.version_id, verify=False)
    subjects = engine.shard_subjects(manifest, dataset, records)
    summary["shards"] = sorted(subjects)
    missing = engine.uncovered_records(subjects, records) if len(subjects) > 1 else [r.record_id for r in records]
    if missing:
        return [], summary | {
            "reason": f"{len(missing)} forget record(s) have no shard that never held their subject "
            f"({len(subjects)} active shard(s))"
        }
    references = engine.load_shard_references(store, manifest, subjects)
    return references, summary | {"count": len(references)}


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
