"""Compliance at once: deactivation keeps only components that never saw the deleted records,
and each is bit-identical to training it from scratch on the remaining data; a later retrain
from the deactivated version restores every shard, again equal to training from scratch."""

from __future__ import annotations

import pytest

from erasure_engine.errors import InvalidInput
from erasure_engine.models import adapter_state, tensor_digests
from erasure_engine.sisa.deactivate import deactivate_exact
from erasure_engine.sisa.ensemble import load_ensemble, load_shard_model
from erasure_engine.sisa.manifest import ModelRegistry
from erasure_engine.sisa.trainer import train_all
from erasure_engine.sisa.unlearn import deletions_from_dataset, unlearn_exact
from erasure_engine.storage import LocalObjectStore
from tests.engine.sisa_fixtures import GENERAL_TEXTS, SHARDS, SLICES, tiny_config, tiny_dataset

KINDS = ["classifier", "lm-lora"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    made = {}
    for kind in KINDS:
        store = LocalObjectStore(tmp_path_factory.mktemp(f"store-{kind}"))
        dataset = tiny_dataset(kind)
        made[kind] = (
            store,
            dataset,
            train_all(store, f"d-{kind}", dataset, tiny_config(kind), general_texts=GENERAL_TEXTS),
        )
    return made


def _subject_at(dataset, shard: int, slice_: int) -> list[str]:
    """Every record of the first subject placed in (shard, slice): erasure comes per subject."""
    subject = dataset.records_in(shard, slice_)[0].subject_key
    return dataset.record_ids_of_subjects([subject])


@pytest.mark.parametrize("kind", KINDS)
def test_deactivated_version_equals_the_remaining_components_trained_from_scratch(trained, tmp_path, kind):
    store, dataset, parent = trained[kind]
    # One subject in shard 0's middle slice (shard 0 falls back to slice 0), one in shard 1's first (dropped).
    deleted = _subject_at(dataset, 0, 1) + _subject_at(dataset, 1, 0)
    after = dataset.without(deleted)
    deletions = deletions_from_dataset(dataset, record_ids=deleted)
    version = deactivate_exact(store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions)

    assert version.created_by == "deactivate-exact" and version.parent_version_id == parent.version_id
    assert version.unlearning["deactivated"] == [
        {"shard": 0, "active_slices": 1, "dropped": False},
        {"shard": 1, "active_slices": 0, "dropped": True},
    ]
    assert version.cost["samples_processed"] == 0 and version.cost["time_to_compliance_seconds"] >= 0
    assert version.active_shards == [0] and version.shard_digests[1] == ""
    assert version.shard_weights == [len(after.records_in(0, 0)), 0]

    # The proof: the kept component is exactly shard 0 trained from scratch on the remaining slice 0.
    scratch_store = LocalObjectStore(tmp_path / "scratch")
    scratch = train_all(scratch_store, parent.model_name, after, parent.training, general_texts=GENERAL_TEXTS)
    assert [c.weights_digest for c in version.checkpoints[0]] == [c.weights_digest for c in scratch.checkpoints[0][:1]]
    ours = load_shard_model(store, version, 0)
    theirs_version = ModelRegistry(scratch_store).load(scratch.model_name, scratch.version_id)
    theirs_version.checkpoints[0] = theirs_version.checkpoints[0][:1]
    theirs = load_shard_model(scratch_store, theirs_version, 0)
    state = adapter_state if kind == "lm-lora" else (lambda model: model.state_dict())
    assert tensor_digests(state(ours)) == tensor_digests(state(theirs))
    # Negative control: the parent's final shard 0 did see the deleted subject.
    assert parent.shard_digests[0] != version.shard_digests[0]

    # The ensemble serves it with the dropped shard left out.
    ensemble = load_ensemble(store, parent.model_name, version.version_id)
    assert ensemble.shards == [0] and ensemble.weights == [len(after.records_in(0, 0))]
    with pytest.raises(InvalidInput, match="not active"):
        ensemble.shard_model(1)

    # Idempotent: same deletions, same version.
    again = deactivate_exact(store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions)
    assert again.version_id == version.version_id

    # A later deletion, unlearned from the deactivated version, restores every shard: the
    # dropped and truncated shards retrain from what they still have; all equal scratch training.
    more = _subject_at(after, 1, SLICES - 1)
    after2 = after.without(more)
    restored = unlearn_exact(
        store,
        parent.model_name,
        version.version_id,
        dataset_after=after2,
        deletions=deletions_from_dataset(after, record_ids=more),
    )
    scratch2 = train_all(
        LocalObjectStore(tmp_path / "scratch2"), parent.model_name, after2, parent.training, general_texts=GENERAL_TEXTS
    )
    assert restored.shard_digests == scratch2.shard_digests
    assert restored.active_shards == list(range(SHARDS))


def test_deactivation_that_would_leave_nothing_is_refused(trained):
    store, dataset, parent = trained["classifier"]
    deleted = [record_id for shard in range(SHARDS) for record_id in _subject_at(dataset, shard, 0)]
    with pytest.raises(InvalidInput, match="leaves no trained shard"):
        deactivate_exact(
            store,
            parent.model_name,
            parent.version_id,
            dataset_after=dataset.without(deleted),
            deletions=deletions_from_dataset(dataset, record_ids=deleted),
        )
