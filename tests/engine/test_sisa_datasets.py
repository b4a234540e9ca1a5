"""Integration with versioned datasets: train on a stored DatasetVersion, erase a subject with
DatasetStore.erase (which purges the old version), then unlearn exactly from the evidence."""

from __future__ import annotations

from erasure_engine.datagen import build_corpus
from erasure_engine.datasets import DatasetStore
from erasure_engine.sisa.trainer import train_all
from erasure_engine.sisa.unlearn import deletions_from_erasure, unlearn_exact
from erasure_engine.storage import LocalObjectStore
from tests.engine.sisa_fixtures import GENERAL_TEXTS, SECRET, tiny_config


def test_erase_then_unlearn_equals_retraining_on_the_erased_version(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    corpus = build_corpus("tiny", seed=5, secret=SECRET)
    datasets = DatasetStore(store, "bios")
    before = datasets.create_version(corpus.records[:64], shards=2, slices=2, seed=3)
    config = tiny_config("lm")
    parent = train_all(store, "bio-lm", before, config, general_texts=GENERAL_TEXTS)
    assert parent.dataset == {
        "dataset": "bios",
        "version_id": before.version_id,
        "manifest_sha256": before.manifest_sha256,
    }

    subject = corpus.records[0].subject_key
    report = datasets.erase(before.version_id, subject_keys=[subject])
    after = datasets.load_version(report.new_version)
    version = unlearn_exact(
        store, "bio-lm", parent.version_id, dataset_after=after, deletions=deletions_from_erasure(report.to_json())
    )
    erased = {entry["record_id"] for entry in report.removed_records}
    assert erased and {entry["record_id"] for entry in version.unlearning["deleted_records"]} == erased
    # The manifest's own erasure block is evidence enough, too (same deletions, same version).
    again = unlearn_exact(
        store,
        "bio-lm",
        parent.version_id,
        dataset_after=after,
        deletions=deletions_from_erasure(after.manifest["erasure"]),
    )
    assert again.version_id == version.version_id

    scratch = train_all(LocalObjectStore(tmp_path / "scratch"), "bio-lm", after, config, general_texts=GENERAL_TEXTS)
    assert version.shard_digests == scratch.shard_digests
    affected = {entry["shard"] for entry in version.unlearning["affected"]}
    assert all(version.shard_digests[s] != parent.shard_digests[s] for s in affected)
