"""The proof: an exact-unlearning retrain is bit-identical (sha256 of every tensor) to training
the shard from scratch without the deleted records — for the full model and the LoRA variant,
a single deletion in the first or last slice and a batch — plus a negative control."""

from __future__ import annotations

import pytest

from erasure_engine.models import tensor_digests, weights_digest
from erasure_engine.sisa.ensemble import load_shard_model
from erasure_engine.sisa.trainer import load_assets, train_all
from erasure_engine.sisa.unlearn import deletions_from_dataset, deletions_from_erasure, unlearn_exact
from erasure_engine.storage import LocalObjectStore
from tests.engine.sisa_fixtures import GENERAL_TEXTS, SLICES, tiny_config, tiny_dataset

KINDS = ["classifier", "lm", "lm-lora"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Per kind: (store, dataset, parent version), trained once for the whole module."""
    made = {}
    for kind in KINDS:
        store = LocalObjectStore(tmp_path_factory.mktemp(f"store-{kind}"))
        dataset = tiny_dataset(kind)
        made[kind] = (
            store,
            dataset,
            train_all(store, f"m-{kind}", dataset, tiny_config(kind), general_texts=GENERAL_TEXTS),
        )
    return made


def _pick(dataset, scenario: str) -> list[str]:
    def ids_at(shard, slice_):
        return [record.record_id for record in dataset.records_in(shard, slice_)]

    if scenario == "first-slice":
        return ids_at(0, 0)[:1]
    if scenario == "last-slice":
        return ids_at(1, SLICES - 1)[:1]
    # A batch: two records of shard 0 (slices 1 and 2 -> one retrain from slice 1) and one of shard 1.
    return ids_at(0, 2)[:1] + ids_at(0, 1)[-1:] + ids_at(1, 1)[:1]


def _non_lora_tensor_digests(peft_model) -> dict[str, str]:
    """The frozen base's tensors inside a PeftModel, named as in the plain base model."""
    state = {
        name.removeprefix("base_model.model.").replace(".base_layer.", "."): tensor
        for name, tensor in peft_model.state_dict().items()
        if "lora_" not in name
    }
    return tensor_digests(state)


@pytest.mark.parametrize("scenario", ["first-slice", "last-slice", "batch"])
@pytest.mark.parametrize("kind", KINDS)
def test_retrained_shards_equal_training_from_scratch(trained, tmp_path, kind, scenario):
    store, dataset, parent = trained[kind]
    deleted = _pick(dataset, scenario)
    after = dataset.without(deleted)
    version = unlearn_exact(
        store,
        parent.model_name,
        parent.version_id,
        dataset_after=after,
        deletions=deletions_from_dataset(dataset, record_ids=deleted),
    )
    scratch_store = LocalObjectStore(tmp_path / "scratch")
    scratch = train_all(scratch_store, parent.model_name, after, parent.training, general_texts=GENERAL_TEXTS)

    affected = {entry["shard"]: entry["first_slice"] for entry in version.unlearning["affected"]}
    expected_first = {}
    for record_id in deleted:
        shard, slice_ = dataset.shard_slice_of(record_id)
        expected_first[shard] = min(slice_, expected_first.get(shard, slice_))
    assert affected == expected_first
    assert version.unlearning["cost"]["slices_retrained"] == sum(SLICES - first for first in affected.values())
    assert 0 < version.cost["fraction_of_full_retrain"] < 1

    # The proof: every shard's final weights equal training from scratch on the data minus the deletions.
    assert version.shard_digests == scratch.shard_digests
    # ... down to every single tensor (loaded through from_pretrained), and every later checkpoint too.
    for shard in affected:
        ours = load_shard_model(store, version, shard)
        theirs = load_shard_model(scratch_store, scratch, shard)
        if kind == "lm-lora":
            from erasure_engine.models import adapter_state

            assert tensor_digests(adapter_state(ours)) == tensor_digests(adapter_state(theirs))
            # A retrain touches only adapter weights: the base inside is still the recorded base.
            base = load_assets(store, version.assets).base
            assert _non_lora_tensor_digests(ours) == tensor_digests(base)
            assert weights_digest(base) == parent.assets["base"].weights_digest == scratch.assets["base"].weights_digest
        else:
            assert tensor_digests(ours) == tensor_digests(theirs)
        assert [c.weights_digest for c in version.checkpoints[shard]] == [
            c.weights_digest for c in scratch.checkpoints[shard]
        ]

    # Negative control: the retrained shards really changed, the others are the parent's own.
    for shard in range(parent.shards):
        if shard in affected:
            assert version.shard_digests[shard] != parent.shard_digests[shard]
        else:
            assert version.checkpoints[shard] == parent.checkpoints[shard]


def test_lineage_and_idempotence(trained):
    store, dataset, parent = trained["classifier"]
    deleted = _pick(dataset, "batch")
    after = dataset.without(deleted)
    deletions = deletions_from_erasure(after.manifest["erasure"])
    first = unlearn_exact(store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions)
    again = unlearn_exact(store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions)
    recomputed = unlearn_exact(
        store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions, reuse_existing=False
    )
    assert first.version_id == again.version_id == recomputed.version_id
    assert first.shard_digests == recomputed.shard_digests
    assert [c.files for s in first.checkpoints for c in s] == [c.files for s in recomputed.checkpoints for c in s]
    lineage = first.unlearning
    assert first.parent_version_id == parent.version_id and lineage["dataset_before"] == parent.dataset
    assert lineage["dataset_after"]["version_id"] == after.version_id
    by_id = {record.record_id: record for record in dataset.records()}
    assert {(d["record_id"], d["content_hash"]) for d in lineage["deleted_records"]} == {
        (record_id, by_id[record_id].content_hash) for record_id in deleted
    }
    assert len(lineage["affected"]) == 2  # a batch shares one retrain per affected shard


@pytest.mark.parametrize("kind", ["classifier", "lm-lora"])
def test_fanned_out_shard_retrains_assemble_to_the_sequential_version(trained, tmp_path, kind):
    """What the gpu queue does: the plan travels as JSON, each affected shard is retrained as its
    own unit (own assets, any order), and the results are assembled into one version."""
    import json

    from erasure_engine.sisa.trainer import ShardResult
    from erasure_engine.sisa.unlearn import (
        UnlearningPlan,
        finalize_exact_unlearning,
        plan_exact_unlearning,
        retrain_shard,
    )

    store, dataset, parent = trained[kind]
    deleted = _pick(dataset, "batch")
    after = dataset.without(deleted)
    deletions = deletions_from_dataset(dataset, record_ids=deleted)
    sequential = unlearn_exact(store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions)

    fan_store = LocalObjectStore(tmp_path / "fan")
    # Only the parent's objects (checkpoints, tokenizer, base), as the workers' shared store holds them.
    for key in store.list_keys(f"models/{parent.model_name}/versions/{parent.version_id}/"):
        fan_store.put_bytes(key, store.get_bytes(key))
    plan_json = json.dumps(plan_exact_unlearning(parent, dataset_after=after, deletions=deletions).to_dict())
    results = []
    for shard in reversed(sorted(json.loads(plan_json)["first_affected_slice"], key=int)):
        unit_plan = UnlearningPlan.from_dict(json.loads(plan_json))
        assets = load_assets(fan_store, unit_plan.training.assets, use_cache=False)
        result = retrain_shard(fan_store, unit_plan, after, int(shard), assets=assets)
        results.append(json.dumps(result.to_dict()))
    assembled = finalize_exact_unlearning(
        fan_store,
        UnlearningPlan.from_dict(json.loads(plan_json)),
        [ShardResult.from_dict(json.loads(r)) for r in results],
        dataset_after=after,
    )
    assert assembled.version_id == sequential.version_id
    assert assembled.shard_digests == sequential.shard_digests
    assert [[c.files for c in shard] for shard in assembled.checkpoints] == [
        [c.files for c in shard] for shard in sequential.checkpoints
    ]
