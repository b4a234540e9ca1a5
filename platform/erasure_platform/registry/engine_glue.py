"""Loading registry versions through the engine for unlearning and verification.

The engine's ShardEnsemble aggregates shard outputs but is not an nn.Module, which the engine's
verify() needs (it fine-tunes and quantizes copies of the model). ShardMeanLogits wraps the
shard models the engine loaded, with the engine's default aggregation (mean logits), for
classifiers. Language models with several shards are not verified here yet (see the report)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import torch
from torch import nn

from erasure_engine.datasets import DatasetStore
from erasure_engine.errors import InvalidInput
from erasure_engine.models import Artifact, download_dir, load_tokenizer
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.registry.models import DatasetVersion, ModelVersion, VersionLayout


class ShardMeanLogits(nn.Module):
    """The S shard classifiers of a SISA version as one module: mean of their logits."""

    def __init__(self, shard_models: list[nn.Module]):
        super().__init__()
        self.shards = nn.ModuleList(shard_models)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return torch.stack([shard(features) for shard in self.shards]).mean(dim=0)


def load_for_evaluation(version: ModelVersion) -> tuple[nn.Module, object]:
    """(module, tokenizer or None) for a registry version."""
    store = platform_object_store()
    if version.layout == VersionLayout.SISA:
        from erasure_engine.sisa.ensemble import load_ensemble

        ensemble = load_ensemble(store, version.model.name, version.version_id)
        if ensemble.version.kind == "classifier":
            return ShardMeanLogits(ensemble.models).eval(), None
        if ensemble.version.shards == 1:
            return ensemble.shard_model(0), ensemble.tokenizer
        raise InvalidInput(
            f"{version}: verifying a {ensemble.version.shards}-shard language model needs an ensemble module "
            "from the engine; train language models with one shard, or use a classifier"
        )
    return load_plain(version)


def load_plain(version: ModelVersion) -> tuple[nn.Module, object]:
    from erasure_engine.cli.approximate_commands import load_model

    artifact = Artifact.from_dict(version.artifact)
    with tempfile.TemporaryDirectory(prefix="registry-model-") as workdir:
        directory = download_dir(platform_object_store(), artifact, Path(workdir) / "model")
        model = load_model(directory)
        tokenizer = load_tokenizer(directory) if (directory / "tokenizer.json").is_file() else None
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


def json_bytes(value) -> bytes:
    return json.dumps(value, indent=2, sort_keys=True).encode("utf-8")
