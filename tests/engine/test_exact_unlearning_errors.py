"""Exact unlearning refuses clearly: unknown records, data that is not 'old minus deleted',
missing checkpoints (ObjectNotFound naming the key), corrupt ones (IntegrityMismatch)."""

from __future__ import annotations

import pytest

from erasure_engine.errors import IntegrityMismatch, InvalidInput, ObjectNotFound
from erasure_engine.records import Record
from erasure_engine.sisa.data import InMemoryDataset
from erasure_engine.sisa.trainer import train_all
from erasure_engine.sisa.unlearn import Deletion, deletions_from_dataset, unlearn_exact
from erasure_engine.storage import LocalObjectStore
from tests.engine.sisa_fixtures import tiny_config, tiny_dataset


@pytest.fixture
def setup(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    dataset = tiny_dataset("classifier")
    parent = train_all(store, "clf", dataset, tiny_config("classifier"))
    # A record in slice 2 of shard 0: the retrain resumes from the slice-1 checkpoint.
    record_id = dataset.records_in(0, 2)[0].record_id
    return store, dataset, parent, record_id


def _unlearn(store, parent, after, deletions):
    return unlearn_exact(store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions)


def test_unknown_record_ids(setup):
    store, dataset, parent, _ = setup
    with pytest.raises(InvalidInput, match="unknown record ids.*no-such-record"):
        deletions_from_dataset(dataset, record_ids=["no-such-record"])
    fake = Deletion("no-such-record", "0" * 64, 0, 0)
    with pytest.raises(InvalidInput, match="not what .* trained on in shard 0 slice 0"):
        _unlearn(store, parent, dataset, [fake])


def test_data_must_be_exactly_the_old_minus_the_deleted(setup):
    store, dataset, parent, record_id = setup
    deletions = deletions_from_dataset(dataset, record_ids=[record_id])
    with pytest.raises(InvalidInput, match="still in dataset version"):
        _unlearn(store, parent, dataset, deletions)
    changed = [
        Record(
            r.record_id, r.subject_key, {**r.content, "label": 1 - r.content["label"] if r.content["label"] < 2 else 0}
        )
        if i == 0
        else r
        for i, r in enumerate(dataset.without([record_id]).records())
    ]
    tampered = InMemoryDataset(changed, shards=dataset.shards, slices=dataset.slices)
    with pytest.raises(InvalidInput, match="not what .* trained on"):
        _unlearn(store, parent, tampered, deletions)


def test_missing_checkpoint_names_the_key(setup):
    store, dataset, parent, record_id = setup
    checkpoint = parent.checkpoints[0][1]
    key = f"{checkpoint.prefix}/optimizer.pt"
    store.delete_permanently(key)
    with pytest.raises(ObjectNotFound, match=key):
        _unlearn(store, parent, dataset.without([record_id]), deletions_from_dataset(dataset, record_ids=[record_id]))


def test_corrupt_checkpoint_names_file_and_both_hashes(setup):
    store, dataset, parent, record_id = setup
    checkpoint = parent.checkpoints[0][1]
    key = f"{checkpoint.prefix}/model.safetensors"
    data = bytearray(store.get_bytes(key))
    data[-1] ^= 0x01
    store.put_bytes(key, bytes(data))
    with pytest.raises(IntegrityMismatch) as caught:
        _unlearn(store, parent, dataset.without([record_id]), deletions_from_dataset(dataset, record_ids=[record_id]))
    message = str(caught.value)
    assert key in message and checkpoint.files["model.safetensors"] in message
    assert caught.value.details["actual"] in message


def test_unknown_parent_version(setup):
    store, dataset, _, record_id = setup
    with pytest.raises(ObjectNotFound, match="v-missing"):
        unlearn_exact(
            store,
            "clf",
            "v-missing",
            dataset_after=dataset,
            deletions=deletions_from_dataset(dataset, record_ids=[record_id]),
        )
