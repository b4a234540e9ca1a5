"""SISA exact unlearning vs full retraining, measured in one run.

For each S: train a SISA model (S shards x R slices), then time (a) one deletion, averaged over
a few single deletions, and (b) one batch of k deletions, each retraining only the affected
shards; compare with a full monolithic retrain (one model, no shards/slices) on the same data
minus the deletion. Also reports the quality cost of sharding: held-out accuracy (classifier)
or perplexity (LM) of the shard ensemble vs the monolithic model.

Per-slice epochs follow SISA: a model with R cumulative slices gets round(2E/(R+1)) epochs per
slice step, so it sees about as many samples as the monolithic model's E epochs.

    python bench/sisa_bench.py --kind lm --data-size small --shards 1,4,8 --slices 3 --epochs 4
"""

from __future__ import annotations

import argparse
import logging
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from erasure_engine.datagen import build_corpus, generate_tabular
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.data import InMemoryDataset
from erasure_engine.sisa.ensemble import load_ensemble
from erasure_engine.sisa.trainer import train_all
from erasure_engine.sisa.unlearn import deletions_from_dataset, unlearn_exact
from erasure_engine.storage import LocalObjectStore

SECRET = "bench-secret"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kind", choices=("lm", "lm-lora", "classifier"), default="lm")
    parser.add_argument("--data-size", default="small", help="datagen preset: tiny, small, reference")
    parser.add_argument("--records", type=int, help="use only the first N training records")
    parser.add_argument("--model-size", choices=("tiny", "small"), default="small")
    parser.add_argument("--shards", default="1,4,8", help="comma-separated S values")
    parser.add_argument("--slices", type=int, default=3, help="R slices per shard")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the monolithic model")
    parser.add_argument("--batch-deletions", type=int, default=8, help="k records in the batch deletion")
    parser.add_argument("--single-trials", type=int, default=3, help="single deletions averaged")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=None)
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    # 1 by default: on a shared 2-core box, OpenMP threads spin against other work and a
    # step gets ~20x slower; SISA shards parallelise across processes instead.
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def workload(args):
    corpus = build_corpus(args.data_size, seed=args.seed, secret=SECRET)
    general = [record.content["text"] for record in corpus.general_records]
    if args.kind == "classifier":
        train = generate_tabular(corpus.subjects, SECRET, seed=args.seed)
        held_out = generate_tabular(corpus.holdout_subjects, SECRET, seed=args.seed)
    else:
        train, held_out = corpus.records, corpus.holdout_records
    if args.records:
        train = train[: args.records]
    return train, held_out[:400], general


def quality(store, version, held_out) -> float:
    ensemble = load_ensemble(store, version.model_name, version.version_id)
    if version.kind == "classifier":
        features = torch.tensor([r.content["features"] for r in held_out])
        labels = torch.tensor([r.content["label"] for r in held_out])
        return (ensemble.predict(features) == labels).float().mean().item()
    return ensemble.perplexity([r.content["text"] for r in held_out])


def config_for(args, slices: int) -> SisaConfig:
    epochs = args.epochs if slices == 1 else max(1, round(2 * args.epochs / (slices + 1)))
    learning_rate = args.learning_rate or (1e-2 if args.kind == "classifier" else 2e-3)
    return SisaConfig(
        kind=args.kind, size=args.model_size, epochs=epochs, batch_size=args.batch_size, learning_rate=learning_rate,
        seed=args.seed, max_length=args.max_length, vocab_size=512,
    )


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device here", file=sys.stderr)
        return 2
    train, held_out, general = workload(args)
    rng = random.Random(args.seed)
    record_ids = sorted(record.record_id for record in train)
    singles = rng.sample(record_ids, args.single_trials)
    batch = rng.sample(record_ids, args.batch_deletions)
    label = "accuracy" if args.kind == "classifier" else "perplexity"
    print(f"# SISA bench: kind={args.kind} model={args.model_size} data={args.data_size} records={len(train)} "
          f"R={args.slices} E={args.epochs} k={args.batch_deletions} device={args.device} threads={torch.get_num_threads()} "
          f"python={platform.python_version()} torch={torch.__version__}")

    with tempfile.TemporaryDirectory(prefix="sisa-bench-") as workdir:
        root = Path(workdir)
        # Baseline: full monolithic retrain on the data minus one deletion (the cost a deletion has without SISA).
        mono_data = InMemoryDataset(train, shards=1, slices=1).without(singles[:1])
        mono_store = LocalObjectStore(root / "mono")
        mono, full_seconds = timed(lambda: train_all(
            mono_store, "mono", mono_data, config_for(args, 1), general_texts=general, device=args.device))
        mono_quality = quality(mono_store, mono, held_out)
        print(f"monolithic full retrain: {full_seconds:.2f}s, held-out {label} {mono_quality:.4f}")

        rows = []
        for shards in [int(value) for value in args.shards.split(",")]:
            dataset = InMemoryDataset(train, shards=shards, slices=args.slices)
            store = LocalObjectStore(root / f"s{shards}")
            config = config_for(args, args.slices)
            parent, sisa_seconds = timed(lambda: train_all(
                store, f"sisa-{shards}", dataset, config, general_texts=general, device=args.device))
            single_times, single_fractions = [], []
            for record_id in singles:
                after = dataset.without([record_id])
                deletions = deletions_from_dataset(dataset, record_ids=[record_id])
                version, seconds = timed(lambda: unlearn_exact(
                    store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions, device=args.device))
                single_times.append(seconds)
                single_fractions.append(version.cost["fraction_of_full_retrain"])
            after = dataset.without(batch)
            deletions = deletions_from_dataset(dataset, record_ids=batch)
            batch_version, batch_seconds = timed(lambda: unlearn_exact(
                store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions, device=args.device))
            single = statistics.mean(single_times)
            row = {
                "S": shards,
                "sisa_train_s": sisa_seconds,
                "single_s": single,
                "single_speedup": full_seconds / single,
                "single_samples_fraction": statistics.mean(single_fractions),
                "batch_s": batch_seconds,
                "batch_speedup_vs_k_full": args.batch_deletions * full_seconds / batch_seconds,
                "batch_vs_k_singles": args.batch_deletions * single / batch_seconds,
                "shards_retrained": len(batch_version.unlearning["affected"]),
                "quality": quality(store, parent, held_out),
            }
            rows.append(row)
            print(f"S={shards}: done", file=sys.stderr)

    print()
    print(f"| S | SISA full train (s) | 1 deletion (s, mean of {args.single_trials}) | speedup vs full retrain "
          f"| samples retrained / full SISA | batch of {args.batch_deletions} (s) | shards retrained "
          f"| batch speedup vs {args.batch_deletions} full retrains | ensemble {label} (monolithic {mono_quality:.4f}) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['S']} | {row['sisa_train_s']:.2f} | {row['single_s']:.2f} | {row['single_speedup']:.1f}x "
              f"| {row['single_samples_fraction']:.3f} | {row['batch_s']:.2f} | {row['shards_retrained']} "
              f"| {row['batch_speedup_vs_k_full']:.1f}x | {row['quality']:.4f} |")
    print(f"\nmonolithic full retrain: {full_seconds:.2f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
