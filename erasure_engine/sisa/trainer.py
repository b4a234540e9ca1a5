"""SISA training: S independent shards, R cumulative slices each, a checkpoint after every slice.

Slice j of a shard trains on that shard's slices 0..j for `epochs` epochs, starting from the
checkpoint after slice j-1 (cumulative, as in Bourtoule et al.): every retained record stays in
every later step, so the final model does not forget early slices, and a deletion in slice j
only invalidates checkpoints j..R-1. Everything (init, batch order, global RNG) is seeded from
(seed, shard, slice, epoch), so a shard is a pure function of its data: the basis of the proof
that an exact unlearning retrain equals training from scratch without the deleted records.

The platform may run `train_shard` for each shard as parallel tasks between `plan_training`
and `finalize_training`; `train_all` does all three in one process.
"""

from __future__ import annotations

import hashlib
import logging
import platform
import tempfile
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from erasure_engine.errors import InvalidInput
from erasure_engine.models import (
    Artifact,
    ClassifierConfig,
    build_causal_lm,
    download_dir,
    lm_config,
    load_causal_lm,
    load_tokenizer,
    model_max_length,
    train_tokenizer,
    upload_dir,
    verify_weights,
    weights_digest,
)
from erasure_engine.records import Record, canonical_json
from erasure_engine.sisa.backends import Batch, CausalLMBackend, LoadedAssets, ShardBackend, backend_for
from erasure_engine.sisa.checkpoints import restore_checkpoint, save_checkpoint
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.data import ShardedDataset, slice_listings
from erasure_engine.sisa.manifest import (
    ModelRegistry,
    ModelVersion,
    check_model_name,
    checkpoint_prefix,
    version_prefix,
)
from erasure_engine.sisa.seeds import derive_seed, deterministic_torch, generator
from erasure_engine.storage import ObjectStore

logger = logging.getLogger(__name__)

# Called with the number of samples just processed (drives tqdm bars in the CLI).
Progress = Callable[[int], None]


@dataclass
class TrainingPlan:
    """Everything a shard task needs besides the dataset; JSON-serialisable for task queues."""

    model_name: str
    version_id: str
    config: SisaConfig
    model_config: dict
    assets: dict[str, Artifact]
    dataset: dict  # {"dataset", "version_id", "manifest_sha256"}
    shards: int
    slices: int
    data_listing: list[list[dict]]  # see sisa.data.slice_listings

    def to_dict(self) -> dict:
        return {
            "data_listing": self.data_listing,
            "model_name": self.model_name,
            "version_id": self.version_id,
            "config": self.config.to_dict(),
            "model_config": self.model_config,
            "assets": {name: artifact.to_dict() for name, artifact in self.assets.items()},
            "dataset": self.dataset,
            "shards": self.shards,
            "slices": self.slices,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TrainingPlan:
        return cls(
            model_name=data["model_name"],
            version_id=data["version_id"],
            config=SisaConfig.from_dict(data["config"]),
            model_config=data["model_config"],
            assets={name: Artifact.from_dict(value) for name, value in data["assets"].items()},
            dataset=data["dataset"],
            shards=int(data["shards"]),
            slices=int(data["slices"]),
            data_listing=data["data_listing"],
        )


@dataclass
class ShardResult:
    shard: int
    start_slice: int
    checkpoints: list[Artifact]  # slices start_slice .. R-1
    seconds: float
    samples_processed: int

    def to_dict(self) -> dict:
        return {
            "shard": self.shard,
            "start_slice": self.start_slice,
            "checkpoints": [artifact.to_dict() for artifact in self.checkpoints],
            "seconds": self.seconds,
            "samples_processed": self.samples_processed,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ShardResult:
        return cls(
            int(data["shard"]),
            int(data["start_slice"]),
            [Artifact.from_dict(value) for value in data["checkpoints"]],
            float(data["seconds"]),
            int(data["samples_processed"]),
        )


def dataset_identity(dataset: ShardedDataset) -> dict:
    return {
        "dataset": getattr(dataset, "dataset", None),
        "version_id": dataset.version_id,
        "manifest_sha256": dataset.manifest_sha256,
    }


def environment(device: str = "cpu") -> dict:
    import peft
    import transformers

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": device,
    }


def planned_samples(dataset: ShardedDataset, config: SisaConfig, start_slices: dict[int, int] | None = None) -> int:
    """Samples a (re)train will process: epochs x records of slices 0..j, summed over the slices
    trained. `start_slices` maps shard -> first slice; None means every shard from slice 0."""
    if start_slices is None:
        start_slices = {shard: 0 for shard in range(dataset.shards)}
    total = 0
    for shard, start in start_slices.items():
        sizes = [len(dataset.records_in(shard, slice_)) for slice_ in range(dataset.slices)]
        total += sum(config.epochs * sum(sizes[: j + 1]) for j in range(start, dataset.slices))
    return total


def fit(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    backend: ShardBackend,
    data: Batch,
    *,
    epochs: int,
    order_seed: Sequence[object],
    progress: Progress | None = None,
) -> int:
    """Train for `epochs` over `data` in a seeded batch order; return samples processed."""
    rows = next(iter(data.values())).shape[0] if data else 0
    if rows == 0:
        return 0
    batch_size = backend.config.batch_size
    model.train()
    processed = 0
    for epoch in range(epochs):
        order = torch.randperm(rows, generator=generator(backend.config.seed, *order_seed, epoch))
        for start in range(0, rows, batch_size):
            index = order[start : start + batch_size]
            loss = backend.loss(model, {name: tensor[index] for name, tensor in data.items()})
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            processed += len(index)
            if progress is not None:
                progress(len(index))
    model.eval()
    return processed


def _concat(batches: list[Batch]) -> Batch:
    batches = [batch for batch in batches if batch]
    if not batches:
        return {}
    return {name: torch.cat([batch[name] for batch in batches]) for name in batches[0]}


# ---------------------------------------------------------------- plan


def _general_texts_digest(texts: Sequence[str]) -> str:
    return hashlib.sha256(canonical_json(list(texts))).hexdigest()


def _classifier_model_config(dataset: ShardedDataset, config: SisaConfig) -> dict:
    records: list[Record] = [
        record
        for shard in range(dataset.shards)
        for slice_ in range(dataset.slices)
        for record in dataset.records_in(shard, slice_)
    ]
    if not records:
        raise InvalidInput(f"dataset version {dataset.version_id} has no records to train on")
    try:
        input_dim = len(records[0].content["features"])
        num_classes = max(2, 1 + max(int(record.content["label"]) for record in records))
    except (KeyError, TypeError, ValueError):
        raise InvalidInput("classifier training needs records with content features + label") from None
    base = ClassifierConfig.for_size(config.size, input_dim=input_dim, num_classes=num_classes).to_dict()
    return ClassifierConfig.from_dict({**base, **config.model_overrides}).to_dict()


def _train_base(tokenizer, model_config: dict, config: SisaConfig, general_texts: Sequence[str]) -> nn.Module:
    """The frozen base of the LoRA variant: a causal LM trained on general (subject-free) text."""
    backend = CausalLMBackend(config, model_config, LoadedAssets(tokenizer=tokenizer))
    with deterministic_torch():
        torch.manual_seed(derive_seed(config.seed, "base-global"))
        model = build_causal_lm(dict(model_config), seed=derive_seed(config.seed, "base-init"))
        data = backend.encode([Record(f"general-{i}", "", {"text": text}) for i, text in enumerate(general_texts)])
        fit(model, backend.optimizer(model), backend, data, epochs=config.base_epochs, order_seed=("base-order",))
    return model


def train_shared_base(
    store: ObjectStore, model_name: str, config: SisaConfig, general_texts: Sequence[str]
) -> dict[str, Artifact]:
    """Tokenizer + base LM trained here on general (subject-free) text, stored once under
    models/<name>/bases/<id>, for `shared_assets` of any number of lm-lora versions."""
    check_model_name(model_name)
    if not general_texts:
        raise InvalidInput("a shared base needs general (subject-free) texts")
    identity = {"config": config.to_dict(), "general_texts": _general_texts_digest(general_texts)}
    prefix = f"models/{model_name}/bases/b-{hashlib.sha256(canonical_json(identity)).hexdigest()[:16]}"
    tokenizer = train_tokenizer(general_texts, vocab_size=config.vocab_size)
    gpt2_config = lm_config(config.size, tokenizer=tokenizer, overrides=config.model_overrides)
    model_config = {key: value for key, value in gpt2_config.to_diff_dict().items() if key != "transformers_version"}
    base = _train_base(tokenizer, model_config, config, general_texts)
    with tempfile.TemporaryDirectory(prefix="sisa-base-") as workdir:
        tokenizer.save_pretrained(str(Path(workdir) / "tokenizer"))
        base.save_pretrained(str(Path(workdir) / "base"))
        return {
            "tokenizer": upload_dir(store, f"{prefix}/tokenizer", Path(workdir) / "tokenizer"),
            "base": upload_dir(store, f"{prefix}/base", Path(workdir) / "base", weights_digest=weights_digest(base)),
        }


def training_version_id(
    model_name: str,
    dataset: ShardedDataset,
    config: SisaConfig,
    *,
    general_texts: Sequence[str] | None = None,
    shared_assets: dict[str, Artifact] | None = None,
) -> str:
    """Same model name, data, config and general texts (or shared tokenizer and base): same
    version id (and same weights)."""
    identity = {
        "model_name": model_name,
        "dataset": dataset_identity(dataset),
        "config": config.to_dict(),
        "general_texts": _general_texts_digest(general_texts)
        if config.kind != "classifier" and not shared_assets
        else None,
    }
    if shared_assets:
        identity["shared_assets"] = {
            name: artifact.to_dict()["files"] for name, artifact in sorted(shared_assets.items())
        }
    return "v-" + hashlib.sha256(canonical_json(identity)).hexdigest()[:16]


def _check_shared_assets(store: ObjectStore, config: SisaConfig, shared_assets: dict[str, Artifact]) -> dict:
    """Verify a shared tokenizer + base (a user's pretrained model, or one trained here on
    general text for an earlier version) and return the base's model config."""
    if config.kind != "lm-lora":
        raise InvalidInput(f"a shared base is for model kind 'lm-lora', not {config.kind!r}")
    if set(shared_assets) != {"tokenizer", "base"}:
        raise InvalidInput(f"shared assets must be a tokenizer and a base, got {sorted(shared_assets)}")
    loaded = load_assets(store, shared_assets)
    model_config = {
        key: value for key, value in loaded.base.config.to_diff_dict().items() if key != "transformers_version"
    }
    positions = model_max_length(loaded.base)
    if positions is not None and positions < config.max_length:
        raise InvalidInput(f"max_length {config.max_length} exceeds the base's {positions} positions")
    return model_config


def plan_training(
    store: ObjectStore,
    model_name: str,
    dataset: ShardedDataset,
    config: SisaConfig,
    *,
    general_texts: Sequence[str] | None = None,
    shared_assets: dict[str, Artifact] | None = None,
) -> TrainingPlan:
    """Fix the version id and model config, and store the shared assets (tokenizer, LoRA base).

    Language models need `general_texts` (subject-free) for the tokenizer and the LoRA base,
    unless `shared_assets` names a stored tokenizer + base to adapt (lm-lora): the user's
    pretrained model, or the base of an earlier version — never retrained, since it holds no
    subject's data."""
    check_model_name(model_name)
    if dataset.shards < 1 or dataset.slices < 1:
        raise InvalidInput("the dataset version has no shards or slices")
    needs_text = config.kind in ("lm", "lm-lora") and not shared_assets
    if needs_text and not general_texts:
        raise InvalidInput(f"model kind {config.kind!r} needs general (subject-free) texts for its tokenizer")
    version_id = training_version_id(
        model_name, dataset, config, general_texts=general_texts, shared_assets=shared_assets
    )
    assets: dict[str, Artifact] = {}
    if shared_assets:
        model_config = _check_shared_assets(store, config, shared_assets)
        assets = dict(shared_assets)
    elif config.kind == "classifier":
        model_config = _classifier_model_config(dataset, config)
    else:
        tokenizer = train_tokenizer(general_texts, vocab_size=config.vocab_size)
        gpt2_config = lm_config(config.size, tokenizer=tokenizer, overrides=config.model_overrides)
        if gpt2_config.n_positions < config.max_length:
            raise InvalidInput(
                f"max_length {config.max_length} exceeds the model's {gpt2_config.n_positions} positions"
            )
        model_config = {
            key: value for key, value in gpt2_config.to_diff_dict().items() if key != "transformers_version"
        }
        prefix = version_prefix(model_name, version_id)
        with tempfile.TemporaryDirectory(prefix="sisa-assets-") as workdir:
            tokenizer_dir = Path(workdir) / "tokenizer"
            tokenizer.save_pretrained(str(tokenizer_dir))
            assets["tokenizer"] = upload_dir(store, f"{prefix}/tokenizer", tokenizer_dir)
            if config.kind == "lm-lora":
                base = _train_base(tokenizer, model_config, config, general_texts)
                base_dir = Path(workdir) / "base"
                base.save_pretrained(str(base_dir))
                assets["base"] = upload_dir(store, f"{prefix}/base", base_dir, weights_digest=weights_digest(base))
    return TrainingPlan(
        model_name=model_name,
        version_id=version_id,
        config=config,
        model_config=model_config,
        assets=assets,
        dataset=dataset_identity(dataset),
        shards=dataset.shards,
        slices=dataset.slices,
        data_listing=slice_listings(dataset),
    )


# Tokenizer and base, kept warm in a long-lived worker: keyed by the sha256 of every file (and
# the base's weights digest), so a hit is by construction the verified content; a few entries.
_ASSET_CACHE: OrderedDict[tuple, LoadedAssets] = OrderedDict()
_ASSET_CACHE_SIZE = 4


def _assets_key(assets: dict[str, Artifact], device: str) -> tuple:
    return (
        device,
        tuple(
            sorted(
                (name, artifact.weights_digest, tuple(sorted(artifact.files.items())))
                for name, artifact in assets.items()
            )
        ),
    )


def load_assets(
    store: ObjectStore, assets: dict[str, Artifact], *, device: str = "cpu", use_cache: bool = True
) -> LoadedAssets:
    """Download and verify the tokenizer and base model (weights digest included), or return the
    copy this process already verified for the same file hashes. Callers never modify them
    (LoRA shards wrap a private copy of the base)."""
    key = _assets_key(assets, device)
    if use_cache and key in _ASSET_CACHE:
        _ASSET_CACHE.move_to_end(key)
        return _ASSET_CACHE[key]
    loaded = LoadedAssets(device=device)
    with tempfile.TemporaryDirectory(prefix="sisa-assets-") as workdir:
        if "tokenizer" in assets:
            loaded.tokenizer = load_tokenizer(download_dir(store, assets["tokenizer"], Path(workdir) / "tokenizer"))
        if "base" in assets:
            base = load_causal_lm(download_dir(store, assets["base"], Path(workdir) / "base"))
            verify_weights(base, assets["base"].weights_digest, what=f"base model {assets['base'].prefix}")
            # peft writes the base's path into every adapter's config and card: name it by its
            # content, not by this temporary folder, so checkpoints are byte-identical anywhere.
            base.name_or_path = base.config._name_or_path = (
                f"sha256:{assets['base'].weights_digest or weights_digest(base)}"
            )
            for parameter in base.parameters():
                parameter.requires_grad_(False)
            loaded.base = base.eval().to(device)
    if use_cache:
        _ASSET_CACHE[key] = loaded
        while len(_ASSET_CACHE) > _ASSET_CACHE_SIZE:
            _ASSET_CACHE.popitem(last=False)
    return loaded


# ---------------------------------------------------------------- shards


def train_shard(
    store: ObjectStore,
    plan: TrainingPlan,
    dataset: ShardedDataset,
    shard: int,
    *,
    start_slice: int = 0,
    resume_from: Artifact | None = None,
    assets: LoadedAssets | None = None,
    progress: Progress | None = None,
) -> ShardResult:
    """Train one shard's slices start_slice..R-1 and checkpoint each one.

    start_slice > 0 resumes from `resume_from`, the checkpoint saved after slice start_slice-1."""
    if (dataset.shards, dataset.slices) != (plan.shards, plan.slices):
        raise InvalidInput(
            f"dataset version {dataset.version_id} has {dataset.shards}x{dataset.slices} shards x slices, "
            f"the plan {plan.shards}x{plan.slices}"
        )
    if dataset.version_id != plan.dataset["version_id"]:
        raise InvalidInput(f"the plan is for dataset version {plan.dataset['version_id']}, not {dataset.version_id}")
    if not 0 <= shard < plan.shards or not 0 <= start_slice < plan.slices:
        raise InvalidInput(f"shard {shard} / slice {start_slice} out of range {plan.shards}x{plan.slices}")
    if (start_slice > 0) != (resume_from is not None):
        raise InvalidInput("resume_from is required exactly when start_slice > 0")
    assets = assets or load_assets(store, plan.assets)
    backend = backend_for(plan.config, plan.model_config, assets)
    started = time.perf_counter()
    checkpoints: list[Artifact] = []
    processed = 0
    with deterministic_torch():
        if resume_from is None:
            torch.manual_seed(derive_seed(plan.config.seed, "global", shard))
            model = backend.initial_model(shard)
            optimizer = backend.optimizer(model)
        else:
            model, optimizer = restore_checkpoint(store, resume_from, backend=backend, shard=shard)
        encoded: list[Batch] = []
        for slice_ in range(plan.slices):
            records = dataset.records_in(shard, slice_)
            encoded.append(backend.encode(records) if records else {})
        for slice_ in range(start_slice, plan.slices):
            processed += fit(
                model,
                optimizer,
                backend,
                _concat(encoded[: slice_ + 1]),
                epochs=plan.config.epochs,
                order_seed=("order", shard, slice_),
                progress=progress,
            )
            prefix = checkpoint_prefix(plan.model_name, plan.version_id, shard, slice_)
            checkpoints.append(save_checkpoint(store, prefix, backend=backend, model=model, optimizer=optimizer))
            logger.info("shard %d slice %d checkpointed (%s)", shard, slice_, checkpoints[-1].weights_digest[:12])
    return ShardResult(shard, start_slice, checkpoints, time.perf_counter() - started, processed)


def finalize_training(
    store: ObjectStore, plan: TrainingPlan, results: Sequence[ShardResult], *, results_device: str = "cpu"
) -> ModelVersion:
    by_shard = {result.shard: result for result in results}
    missing = sorted(set(range(plan.shards)) - set(by_shard))
    if missing:
        raise InvalidInput(f"cannot finalize {plan.version_id}: shards {missing} were not trained")
    seconds = sum(result.seconds for result in results)
    version = ModelVersion(
        model_name=plan.model_name,
        version_id=plan.version_id,
        parent_version_id=None,
        created_by="train",
        kind=plan.config.kind,
        dataset=plan.dataset,
        shards=plan.shards,
        slices=plan.slices,
        training=plan.config,
        model_config=plan.model_config,
        assets=plan.assets,
        checkpoints=[by_shard[shard].checkpoints for shard in range(plan.shards)],
        data_listing=plan.data_listing,
        cost={
            "seconds": seconds,
            "samples_processed": sum(result.samples_processed for result in results),
            "slices_trained": plan.shards * plan.slices,
            "full_training_seconds": seconds,
            "per_shard": [
                {"shard": r.shard, "seconds": r.seconds, "samples_processed": r.samples_processed}
                for r in sorted(results, key=lambda r: r.shard)
            ],
        },
        environment=environment(results_device),
    )
    ModelRegistry(store).save(version)
    return version


def train_all(
    store: ObjectStore,
    model_name: str,
    dataset: ShardedDataset,
    config: SisaConfig,
    *,
    general_texts: Sequence[str] | None = None,
    shared_assets: dict[str, Artifact] | None = None,
    progress: Progress | None = None,
    reuse_existing: bool = True,
    device: str = "cpu",
) -> ModelVersion:
    """Plan, train every shard in this process, finalize. Training is deterministic, so an
    existing version with the same id is returned as it is unless reuse_existing=False."""
    registry = ModelRegistry(store)
    version_id = training_version_id(
        model_name, dataset, config, general_texts=general_texts, shared_assets=shared_assets
    )
    if reuse_existing and registry.exists(model_name, version_id):
        return registry.load(model_name, version_id)
    plan = plan_training(store, model_name, dataset, config, general_texts=general_texts, shared_assets=shared_assets)
    assets = load_assets(store, plan.assets, device=device)
    results = [
        train_shard(store, plan, dataset, shard, assets=assets, progress=progress) for shard in range(plan.shards)
    ]
    return finalize_training(store, plan, results, results_device=device)
