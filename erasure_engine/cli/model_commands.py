"""`train`, `models list|show`, `predict` and `score`: SISA models from dataset versions."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import contextmanager

from erasure_engine.datagen import (
    DEFAULT_PUBLIC_PERSONS,
    PUBLIC_PERSONS_ENV,
    base_model_texts,
    default_public_persons,
)
from erasure_engine.errors import InvalidInput
from erasure_engine.storage import ObjectStore, object_store_from_url


def register(subparsers) -> None:
    train = subparsers.add_parser("train", help="train a SISA model (S shards x R slices) on a dataset version")
    store_arguments(train)
    train.add_argument("--dataset", required=True, help="dataset name")
    train.add_argument("--version", help="dataset version id (default: latest)")
    train.add_argument("--name", required=True, help="model name")
    train.add_argument("--kind", choices=("lm", "lm-lora", "classifier"), default="classifier")
    train.add_argument("--size", choices=("tiny", "small"), default="tiny", help="model architecture size")
    train.add_argument("--shards", type=int, help="expected S (must match the dataset version's layout)")
    train.add_argument("--slices", type=int, help="expected R (must match the dataset version's layout)")
    train.add_argument("--epochs", type=int, default=1, help="epochs per slice step")
    train.add_argument("--batch-size", type=int, default=16)
    train.add_argument("--learning-rate", type=float, default=1e-3)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--max-length", type=int, default=64, help="LM tokens per record")
    train.add_argument(
        "--general-count",
        type=int,
        default=400,
        help="LMs: generated subject-free texts for the tokenizer and the LoRA base",
    )
    train.add_argument(
        "--public-persons",
        type=int,
        default=default_public_persons(),
        help="LMs: also the texts of N fictitious public persons in the records' formats (never data subjects); "
        f"default {PUBLIC_PERSONS_ENV} or {DEFAULT_PUBLIC_PERSONS}, as the platform's train job",
    )
    train.add_argument("--general-seed", type=int, default=0, help="seed of the general and public texts")
    train.add_argument(
        "--base",
        help="lm-lora: the team's pretrained causal LM (a save_pretrained directory with its tokenizer, or an "
        "s3:// prefix) to adapt per shard and slice; without it a base is trained here on general text",
    )
    train.set_defaults(handler=handle_train)

    models = subparsers.add_parser("models", help="inspect model versions")
    models_sub = models.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = models_sub.add_parser("list", help="models and their versions")
    store_arguments(listing)
    listing.add_argument("--name", help="only this model")
    listing.set_defaults(handler=handle_list)
    show = models_sub.add_parser("show", help="manifest summary of one version with its digests")
    store_arguments(show)
    show.add_argument("--name", required=True)
    show.add_argument("--version", required=True)
    show.add_argument("--full", action="store_true", help="print the whole manifest")
    show.set_defaults(handler=handle_show)

    predict = subparsers.add_parser("predict", help="classifier: aggregated class prediction for feature vectors")
    store_arguments(predict)
    predict.add_argument("--name", required=True)
    predict.add_argument("--version", required=True)
    predict.add_argument("--features", action="append", required=True, help="JSON list of floats (repeatable)")
    predict.add_argument("--aggregate", choices=("mean_logits", "mean_probs", "vote"), default="mean_logits")
    predict.set_defaults(handler=handle_predict)

    score = subparsers.add_parser("score", help="language model: per-text loss and perplexity under the ensemble")
    store_arguments(score)
    score.add_argument("--name", required=True)
    score.add_argument("--version", required=True)
    score.add_argument("--text", action="append", required=True, help="text to score (repeatable)")
    score.set_defaults(handler=handle_score)


def store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", required=True, help="object store: a folder, file:///path or s3://bucket/prefix")
    parser.add_argument("--endpoint-url", help="S3 endpoint (MinIO, Ceph, moto)")


def open_store(args) -> ObjectStore:
    return object_store_from_url(args.store, endpoint_url=args.endpoint_url)


def print_json(value) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


@contextmanager
def progress_bar(total: int, description: str):
    """A tqdm bar on stderr counting training samples; yields the trainer's progress callback."""
    from tqdm import tqdm

    with tqdm(total=total, desc=description, unit="sample", file=sys.stderr, leave=False) as bar:
        yield bar.update


def quiet_transformers() -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


def version_summary(version) -> dict:
    return {
        "model_name": version.model_name,
        "version_id": version.version_id,
        "parent_version_id": version.parent_version_id,
        "created_by": version.created_by,
        "kind": version.kind,
        "dataset": version.dataset,
        "shards": version.shards,
        "slices": version.slices,
        "seed": version.seed,
        "shard_digests": version.shard_digests,
        "cost": version.cost,
    }


def handle_train(args) -> int:
    from erasure_engine.datasets import DatasetStore
    from erasure_engine.sisa.bases import store_pretrained_base
    from erasure_engine.sisa.config import SisaConfig
    from erasure_engine.sisa.trainer import finalize_training, load_assets, plan_training, planned_samples, train_shard

    quiet_transformers()
    store = open_store(args)
    datasets = DatasetStore(store, args.dataset)
    dataset = datasets.load_version(args.version) if args.version else datasets.latest()
    for flag, expected, actual in (
        ("--shards", args.shards, dataset.shards),
        ("--slices", args.slices, dataset.slices),
    ):
        if expected is not None and expected != actual:
            raise InvalidInput(
                f"{flag} {expected} does not match {args.dataset}@{dataset.version_id}, which has {actual}"
            )
    config = SisaConfig(
        kind=args.kind,
        size=args.size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        max_length=args.max_length,
    )
    general, shared = None, None
    if args.base is not None:
        if args.kind != "lm-lora":
            raise InvalidInput("--base is the frozen base of LoRA shards: use it with --kind lm-lora")
        shared = store_pretrained_base(store, args.name, args.base, endpoint_url=args.endpoint_url)
    elif args.kind != "classifier":
        general = base_model_texts(
            general=args.general_count, public_persons=args.public_persons, seed=args.general_seed
        )
    plan = plan_training(store, args.name, dataset, config, general_texts=general, shared_assets=shared)
    assets = load_assets(store, plan.assets)
    with progress_bar(planned_samples(dataset, config), f"train {args.name}") as progress:
        results = [
            train_shard(store, plan, dataset, shard, assets=assets, progress=progress) for shard in range(plan.shards)
        ]
    print_json(version_summary(finalize_training(store, plan, results)))
    return 0


def handle_list(args) -> int:
    from erasure_engine.sisa.manifest import ModelRegistry

    registry = ModelRegistry(open_store(args))
    names = [args.name] if args.name else registry.model_names()
    models = []
    for name in names:
        versions = []
        for version_id in registry.version_ids(name):
            version = registry.load(name, version_id)
            versions.append(
                {
                    "version_id": version_id,
                    "parent_version_id": version.parent_version_id,
                    "created_by": version.created_by,
                    "kind": version.kind,
                    "dataset_version": version.dataset["version_id"],
                }
            )
        models.append({"name": name, "versions": versions})
    print_json({"models": models})
    return 0


def handle_show(args) -> int:
    from erasure_engine.sisa.manifest import ModelRegistry

    version = ModelRegistry(open_store(args)).load(args.name, args.version)
    if args.full:
        print_json(version.to_dict())
        return 0
    summary = version_summary(version)
    summary["checkpoint_digests"] = [[c.weights_digest for c in shard] for shard in version.checkpoints]
    summary["assets"] = {name: artifact.weights_digest or artifact.files for name, artifact in version.assets.items()}
    summary["unlearning"] = version.unlearning
    print_json(summary)
    return 0


def handle_predict(args) -> int:
    import torch

    from erasure_engine.sisa.ensemble import load_ensemble

    quiet_transformers()
    try:
        rows = [[float(value) for value in json.loads(text)] for text in args.features]
    except (ValueError, TypeError):
        raise InvalidInput("--features takes a JSON list of numbers, e.g. '[0.1, 2, -3]'") from None
    ensemble = load_ensemble(open_store(args), args.name, args.version)
    scores = ensemble.classifier_logits(torch.tensor(rows), aggregate=args.aggregate)
    print_json(
        {
            "aggregate": args.aggregate,
            "predictions": [
                {"features": row, "label": int(score.argmax()), "scores": [round(float(s), 6) for s in score]}
                for row, score in zip(rows, scores)
            ],
        }
    )
    return 0


def handle_score(args) -> int:
    from erasure_engine.sisa.ensemble import load_ensemble

    quiet_transformers()
    ensemble = load_ensemble(open_store(args), args.name, args.version)
    losses = ensemble.record_losses(args.text)
    print_json(
        {
            "texts": [{"text": text, "loss": round(loss, 6)} for text, loss in zip(args.text, losses)],
            "perplexity": round(ensemble.perplexity(args.text), 6),
        }
    )
    return 0
