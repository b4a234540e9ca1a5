"""The platform's one door to the engine.

Every engine name the platform uses is named here, and only from the engine's package-level
exports (`erasure_engine.sisa`, never `erasure_engine.sisa.trainer`): the engine is free to
rearrange its modules, and a reader sees in one page everything the platform relies on.
Platform modules import from here (`from erasure_platform.core.engine import …` or
`from erasure_platform.core import engine`); tests/platform/test_architecture.py holds every
other module to it. settings.py is the one exception: it may not import app modules, so it
reaches generate_private_key_pem directly to make a development key.

The door has a light part and a heavy part. The light engine packages (records, errors,
evidence, storage, datasets, datagen) import no torch and are imported eagerly below. The heavy
ones (models, sisa, unlearning, verification) pull in torch, transformers, peft, accelerate,
scipy and matplotlib — seconds and hundreds of MB — which the web role never needs to start:
their names are listed in HEAVY_EXPORTS and resolved on first use by the module's __getattr__
(PEP 562), which imports the name's engine package and keeps the name here. So a module on the
web path writes `engine.train_shard(...)` inside a function, never
`from erasure_platform.core.engine import train_shard` at its top (that would resolve it at
import time; the architecture test refuses it). Workers call load_heavy() at start so their
first job does not pay the import."""

from __future__ import annotations

import importlib

from erasure_engine.datagen import (
    base_model_texts,
    generate_holdout_subjects,
    generate_subjects,
    generate_tabular,
    size_preset,
)
from erasure_engine.datasets import DatasetStore, check_dataset_name
from erasure_engine.errors import EngineError, InvalidInput
from erasure_engine.evidence import (
    Checkpoint,
    Finding,
    MerkleTree,
    Tampering,
    TreeHead,
    checkpoint_sign,
    event_leaf_hash,
    event_mac,
    event_mac_valid,
    frontier_append,
    key_id,
    load_private_key,
    public_key_pem,
    root_from_frontier,
    sign_document,
    tree_head_sign,
    tree_head_verify,
    tree_heads_against_leaves,
    verifier_key,
    verify_document,
)
from erasure_engine.records import Record, canonical_json, json_nesting_exceeds, subject_key
from erasure_engine.storage import ObjectStore, S3ObjectStore, download_prefix, object_store_from_url

# Heavy engine packages and the names the platform takes from each, resolved on first use.
HEAVY_EXPORTS: dict[str, tuple[str, ...]] = {
    # pyarrow and psycopg: only an import job, a preview or erasure at a team's source needs them.
    "erasure_engine.imports": (
        "erase_from_source",
        "import_dataset",
        "open_source",
        "parse_spec_text",
        "preview_import",
        "read_identity_links",
        "DatasetSpec",
        "IdentityMapSpec",
    ),
    "erasure_engine.models": (
        "Artifact",
        "download_dir",
        "has_tokenizer",
        "load_saved_model",
        "load_tokenizer",
        "memory_preflight",
        "resolve_device",
        "resolve_dtype",
        "saved_model_shape",
        "upload_dir",
        "weights_digest",
    ),
    "erasure_engine.sisa": (
        "DEACTIVATE_METHOD",
        "EXACT_METHOD",
        "MODEL_KINDS",
        "Deletion",
        "ModelRegistry",
        "ShardResult",
        "SisaConfig",
        "TrainingPlan",
        "UnlearningPlan",
        "check_model_name",
        "deactivate_exact",
        "finalize_exact_unlearning",
        "finalize_training",
        "load_assets",
        "load_ensemble",
        "load_shard_references",
        "plan_exact_unlearning",
        "plan_training",
        "planned_samples",
        "retrain_shard",
        "shard_subjects",
        "store_pretrained_base",
        "train_shard",
        "uncovered_records",
        "version_prefix",
    ),
    "erasure_engine.unlearning": ("available_methods", "get_method", "resolve_params", "unlearn"),
    "erasure_engine.verification": ("VerificationPolicy", "verify", "write_report"),
}
_HEAVY_PACKAGE = {name: package for package, names in HEAVY_EXPORTS.items() for name in names}


def __getattr__(name: str) -> object:
    package = _HEAVY_PACKAGE.get(name)
    if package is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(package), name)
    globals()[name] = value  # resolved once: later lookups do not come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HEAVY_PACKAGE))


def load_heavy() -> None:
    """Resolve every heavy name now (a worker's start), so no job pays the import."""
    for name in _HEAVY_PACKAGE:
        __getattr__(name)


__all__ = [
    "Checkpoint",
    "DatasetStore",
    "EngineError",
    "Finding",
    "InvalidInput",
    "MerkleTree",
    "ObjectStore",
    "Record",
    "S3ObjectStore",
    "Tampering",
    "TreeHead",
    "base_model_texts",
    "canonical_json",
    "check_dataset_name",
    "download_prefix",
    "checkpoint_sign",
    "event_leaf_hash",
    "event_mac",
    "event_mac_valid",
    "frontier_append",
    "generate_holdout_subjects",
    "generate_subjects",
    "generate_tabular",
    "json_nesting_exceeds",
    "key_id",
    "load_heavy",
    "load_private_key",
    "object_store_from_url",
    "public_key_pem",
    "root_from_frontier",
    "sign_document",
    "size_preset",
    "subject_key",
    "tree_head_sign",
    "tree_head_verify",
    "tree_heads_against_leaves",
    "verifier_key",
    "verify_document",
    *_HEAVY_PACKAGE,  # resolved on first use by __getattr__
]
