"""SISA: sharded, isolated, sliced, aggregated training, and exact unlearning by shard retrain.

Exact unlearning runs as plan_exact_unlearning → retrain_shard per affected shard (independent
units: a plan and a result are JSON, so each can be its own gpu-queue job) →
finalize_exact_unlearning (assemble one version); deactivate_exact gives a compliant version at
once, without training, while that runs."""

from erasure_engine.sisa.bases import store_pretrained_base
from erasure_engine.sisa.config import MODEL_KINDS, SisaConfig
from erasure_engine.sisa.data import InMemoryDataset, ShardedDataset, slice_listings
from erasure_engine.sisa.deactivate import METHOD as DEACTIVATE_METHOD
from erasure_engine.sisa.deactivate import deactivate_exact
from erasure_engine.sisa.ensemble import ShardEnsemble, load_ensemble, load_shard_model
from erasure_engine.sisa.manifest import ModelRegistry, ModelVersion, check_model_name, version_prefix
from erasure_engine.sisa.references import load_shard_references, shard_subjects, uncovered_records
from erasure_engine.sisa.trainer import (
    ShardResult,
    TrainingPlan,
    finalize_training,
    load_assets,
    plan_training,
    planned_samples,
    train_all,
    train_shard,
    train_shared_base,
)
from erasure_engine.sisa.unlearn import METHOD as EXACT_METHOD
from erasure_engine.sisa.unlearn import (
    Deletion,
    UnlearningPlan,
    deletions_from_dataset,
    deletions_from_erasure,
    finalize_exact_unlearning,
    plan_exact_unlearning,
    retrain_shard,
    unlearn_exact,
)

__all__ = [
    "DEACTIVATE_METHOD",
    "EXACT_METHOD",
    "Deletion",
    "InMemoryDataset",
    "MODEL_KINDS",
    "ModelRegistry",
    "ModelVersion",
    "ShardEnsemble",
    "ShardResult",
    "ShardedDataset",
    "SisaConfig",
    "TrainingPlan",
    "UnlearningPlan",
    "deactivate_exact",
    "deletions_from_dataset",
    "deletions_from_erasure",
    "finalize_exact_unlearning",
    "finalize_training",
    "load_assets",
    "load_ensemble",
    "load_shard_model",
    "load_shard_references",
    "plan_exact_unlearning",
    "plan_training",
    "planned_samples",
    "retrain_shard",
    "shard_subjects",
    "slice_listings",
    "store_pretrained_base",
    "train_all",
    "train_shard",
    "train_shared_base",
    "uncovered_records",
    "unlearn_exact",
    "check_model_name",
    "version_prefix",
]
