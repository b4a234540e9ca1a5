"""Exact unlearning removes membership, not just weights: a SISA LM that memorised its subjects
lets the loss attack tell the forget subjects from never-seen ones; after a real erasure
(`DatasetStore.erase`) and `unlearn_exact` it no longer can, and it scores exactly like a model
trained from scratch without those subjects (the oracle)."""

from __future__ import annotations

import torch

from erasure_engine.datagen import generate_holdout_subjects, generate_subjects, records_from_subjects
from erasure_engine.datasets import DatasetStore
from erasure_engine.records import Record, subject_key
from erasure_engine.sisa import (
    ModelVersion,
    SisaConfig,
    deletions_from_erasure,
    load_ensemble,
    train_all,
    unlearn_exact,
)
from erasure_engine.storage import LocalObjectStore, ObjectStore
from erasure_engine.verification import membership_attack
from tests.engine.sisa_fixtures import GENERAL_TEXTS, SECRET, tiny_config

torch.set_num_threads(1)

SUBJECTS, FORGET_SUBJECTS, HOLDOUT_SUBJECTS = 12, 4, 12
# Enough passes over 120 records for the tiny LM to memorise its subjects (loss-attack AUC ~0.94).
MEMORISING_CONFIG = SisaConfig(**{**tiny_config("lm").to_dict(), "epochs": 24})
# |AUC − 0.5| allowed after unlearning: 2.5 standard errors. With 4 forget vs 12 holdout
# subjects the subject-level bootstrap standard error of the AUC is about 0.06 (records of one
# person move together), so finer claims are noise; the original model sits ~0.44 above 0.5.
AUC_TOLERANCE = 0.15


def loss_attack_auc(store: ObjectStore, version: ModelVersion, forget: list[Record], holdout: list[Record]) -> float:
    """Loss attack on the shard ensemble: forget records (members) vs never-seen holdout records."""
    ensemble = load_ensemble(store, version.model_name, version.version_id)
    members = [-loss for loss in ensemble.record_losses([r.content["text"] for r in forget])]
    outsiders = [-loss for loss in ensemble.record_losses([r.content["text"] for r in holdout])]
    return membership_attack(members, outsiders).auc


def test_exact_unlearning_brings_membership_down_to_the_oracle(tmp_path):
    subjects = generate_subjects(SUBJECTS, seed=3)
    records = records_from_subjects(subjects, SECRET)
    holdout = records_from_subjects(generate_holdout_subjects(HOLDOUT_SUBJECTS, seed=3), SECRET)
    forget_keys = sorted({subject_key(subject.identifier, SECRET) for subject in subjects[:FORGET_SUBJECTS]})
    forget = [record for record in records if record.subject_key in forget_keys]

    store = LocalObjectStore(tmp_path / "store")
    datasets = DatasetStore(store, "bios")
    before = datasets.create_version(records, shards=2, slices=2, seed=0)
    original = train_all(store, "bio-lm", before, MEMORISING_CONFIG, general_texts=GENERAL_TEXTS)
    original_auc = loss_attack_auc(store, original, forget, holdout)
    # The model memorised the forget subjects: the attack finds them (fails if nothing was learnt).
    assert original_auc > 0.8

    report = datasets.erase(before.version_id, subject_keys=forget_keys)
    after = datasets.load_version(report.new_version)
    deletions = deletions_from_erasure(report.to_json())
    assert {deletion.record_id for deletion in deletions} == {record.record_id for record in forget}
    unlearned = unlearn_exact(store, "bio-lm", original.version_id, dataset_after=after, deletions=deletions)
    unlearned_auc = loss_attack_auc(store, unlearned, forget, holdout)

    oracle_store = LocalObjectStore(tmp_path / "oracle")
    oracle = train_all(oracle_store, "bio-lm", after, MEMORISING_CONFIG, general_texts=GENERAL_TEXTS)
    oracle_auc = loss_attack_auc(oracle_store, oracle, forget, holdout)

    # (a) The oracle's level exactly: the same weights (sha256), hence the same statistics.
    assert unlearned.shard_digests == oracle.shard_digests
    assert unlearned_auc == oracle_auc
    # (b) The attack is back to guessing, far below where it was (fails if unlearning were a no-op).
    assert abs(unlearned_auc - 0.5) <= AUC_TOLERANCE, (original_auc, unlearned_auc)
    assert original_auc - unlearned_auc > 0.3
