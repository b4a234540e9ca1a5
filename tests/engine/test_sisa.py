"""SISA training: determinism, manifests and checkpoints, per-shard tasks, ensemble inference."""

from __future__ import annotations

import json

import pytest
import torch

from erasure_engine.errors import InvalidInput
from erasure_engine.models import file_digests
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.ensemble import load_ensemble
from erasure_engine.sisa.manifest import ModelRegistry
from erasure_engine.sisa.trainer import (
    ShardResult,
    TrainingPlan,
    finalize_training,
    plan_training,
    planned_samples,
    train_all,
    train_shard,
)
from erasure_engine.storage import LocalObjectStore, S3ObjectStore
from tests.engine.sisa_fixtures import GENERAL_TEXTS, SHARDS, SLICES, tiny_config, tiny_dataset


def test_training_is_deterministic_and_checkpointed(tmp_path):
    dataset = tiny_dataset("classifier")
    config = tiny_config("classifier")
    stores = [LocalObjectStore(tmp_path / name) for name in ("a", "b")]
    first, second = (train_all(store, "clf", dataset, config) for store in stores)
    assert first.version_id == second.version_id
    assert first.shard_digests == second.shard_digests
    # Every checkpoint file (weights, optimizer, RNG state) is byte-identical too.
    assert [c.files for s in first.checkpoints for c in s] == [c.files for s in second.checkpoints for c in s]
    assert len(set(first.shard_digests)) == SHARDS
    other_seed = train_all(stores[0], "clf", dataset, SisaConfig(**{**config.to_dict(), "seed": 8}))
    assert other_seed.shard_digests[0] != first.shard_digests[0]

    manifest = json.loads(stores[0].get_bytes(f"models/clf/versions/{first.version_id}/manifest.json"))
    assert manifest["dataset"]["version_id"] == dataset.version_id
    assert manifest["dataset"]["manifest_sha256"] == dataset.manifest_sha256
    assert (manifest["shards"], manifest["slices"], manifest["seed"]) == (SHARDS, SLICES, 7)
    assert manifest["training"]["epochs"] == 2 and manifest["parent_version_id"] is None
    assert manifest["cost"]["samples_processed"] == planned_samples(dataset, config) > 0
    assert manifest["cost"]["seconds"] > 0
    for shard in manifest["checkpoints"]:
        assert len(shard) == SLICES
        for checkpoint in shard:
            assert set(checkpoint["files"]) == {"config.json", "model.safetensors", "optimizer.pt", "rng.pt"}
            stored = {name: stores[0].get_bytes(f"{checkpoint['prefix']}/{name}") for name in checkpoint["files"]}
            import hashlib

            assert {n: hashlib.sha256(b).hexdigest() for n, b in stored.items()} == checkpoint["files"]
    registry = ModelRegistry(stores[0])
    assert registry.model_names() == ["clf"]
    assert set(registry.version_ids("clf")) == {first.version_id, other_seed.version_id}


def test_shards_train_independently_from_a_serialised_plan(tmp_path):
    """What a task queue does: plan, ship the plan as JSON, train shards in any order, finalize."""
    dataset = tiny_dataset("classifier")
    config = tiny_config("classifier")
    reference = train_all(LocalObjectStore(tmp_path / "ref"), "clf", dataset, config)
    store = LocalObjectStore(tmp_path / "tasks")
    plan = TrainingPlan.from_dict(json.loads(json.dumps(plan_training(store, "clf", dataset, config).to_dict())))
    results = [train_shard(store, plan, dataset, shard) for shard in reversed(range(SHARDS))]
    results = [ShardResult.from_dict(json.loads(json.dumps(result.to_dict()))) for result in results]
    assert finalize_training(store, plan, results).shard_digests == reference.shard_digests
    with pytest.raises(InvalidInput, match="shards \\[1\\] were not trained"):
        finalize_training(store, plan, results[1:])


def test_classifier_ensemble_aggregations(tmp_path):
    dataset = tiny_dataset("classifier")
    store = LocalObjectStore(tmp_path)
    version = train_all(store, "clf", dataset, SisaConfig(**{**tiny_config("classifier").to_dict(), "epochs": 6}))
    ensemble = load_ensemble(store, "clf", version.version_id)
    records = dataset.records()
    features = torch.tensor([r.content["features"] for r in records])
    labels = torch.tensor([r.content["label"] for r in records])
    for aggregate in ("mean_logits", "mean_probs", "vote"):
        accuracy = (ensemble.predict(features, aggregate=aggregate) == labels).float().mean().item()
        assert accuracy > 0.6, aggregate  # 3 classes: chance is ~0.33
    votes = ensemble.classifier_logits(features, aggregate="vote")
    assert torch.allclose(votes.sum(dim=-1), torch.ones(len(records)))
    with pytest.raises(InvalidInput, match="not lm"):
        ensemble.record_losses(["text"])


def test_lm_ensemble_scores_records_and_trains_on_s3(tmp_path, s3_endpoint, s3_client, s3_bucket):
    dataset = tiny_dataset("lm")
    store = S3ObjectStore(s3_bucket, "engine", client=s3_client)
    version = train_all(store, "lm", dataset, tiny_config("lm"), general_texts=GENERAL_TEXTS)
    assert set(version.assets) == {"tokenizer"}
    ensemble = load_ensemble(store, "lm", version.version_id)
    texts = [r.content["text"] for r in dataset.records()[:5]]
    losses = ensemble.record_losses(texts)
    assert len(losses) == 5 and all(0 < loss < 10 for loss in losses)
    # Trained: clearly better than uniform guessing over the vocabulary.
    assert ensemble.perplexity(texts) < 0.5 * len(ensemble.tokenizer)
    log_probs = ensemble.next_token_log_probs(torch.tensor([[1, 2, 3]]), torch.ones(1, 3, dtype=torch.long))
    assert torch.allclose(log_probs.exp().sum(dim=-1), torch.ones(1, 3), atol=1e-4)


def test_lora_variant_trains_only_adapters(tmp_path):
    dataset = tiny_dataset("lm-lora")
    store = LocalObjectStore(tmp_path)
    version = train_all(store, "lora", dataset, tiny_config("lm-lora"), general_texts=GENERAL_TEXTS)
    assert set(version.assets) == {"tokenizer", "base"}
    checkpoint = version.checkpoints[0][-1]
    assert {"adapter_model.safetensors", "adapter_config.json"} <= set(checkpoint.files)
    assert "model.safetensors" not in checkpoint.files  # the base is stored once, not per shard
    assert file_digests(tmp_path / version.assets["base"].prefix) == version.assets["base"].files
    ensemble = load_ensemble(store, "lora", version.version_id)
    assert len(ensemble.record_losses([dataset.records()[0].content["text"]])) == 1


def test_language_models_need_general_text(tmp_path):
    with pytest.raises(InvalidInput, match="general"):
        plan_training(LocalObjectStore(tmp_path), "lm", tiny_dataset("lm"), tiny_config("lm"))


def test_lora_shards_adapt_a_shared_base_trained_once(tmp_path):
    """A base trained once on general text (or the user's own) is reused, never retrained, by
    every version; an erasure's retrain on it equals training from scratch on the same base."""
    from erasure_engine.sisa.trainer import train_shared_base
    from erasure_engine.sisa.unlearn import deletions_from_dataset, unlearn_exact

    store = LocalObjectStore(tmp_path)
    config = tiny_config("lm-lora")
    shared = train_shared_base(store, "lora", config, GENERAL_TEXTS)
    dataset = tiny_dataset("lm-lora")
    version = train_all(store, "lora", dataset, config, shared_assets=shared)
    assert version.assets == shared and all(a.prefix.startswith("models/lora/bases/") for a in shared.values())
    subject = dataset.records_in(1, 1)[0].subject_key
    deleted = dataset.record_ids_of_subjects([subject])
    after = dataset.without(deleted)
    unlearned = unlearn_exact(
        store,
        "lora",
        version.version_id,
        dataset_after=after,
        deletions=deletions_from_dataset(dataset, record_ids=deleted),
    )
    scratch = train_all(store, "lora-scratch", after, config, shared_assets=shared)
    assert unlearned.shard_digests == scratch.shard_digests and unlearned.assets == scratch.assets == shared
    assert (
        unlearned.shard_digests[1] != version.shard_digests[1]
        and unlearned.shard_digests[0] == version.shard_digests[0]
    )
    with pytest.raises(InvalidInput, match="shared base is for model kind 'lm-lora'"):
        train_all(store, "lm", dataset, tiny_config("lm"), shared_assets=shared)
