"""SISA exact unlearning at several S in one run: quality, time to compliance, erasure speed.

Shards adapt one shared base (trained here once on non-personal text, never retrained) with
per-shard LoRA adapters; subjects are placed balanced by record count; the ensemble weighs each
shard by the records it was trained on. The base's text (and the tokenizer's, which every model
here shares) is general sentences plus biographies of fictitious public persons in the records'
formats (`generate_public_text`: never a data subject, no subject key), as a real pretrained LM
has read public biographies. For each S it reports:

- held-out perplexity of the ensemble, and its ratio to the BEST single model trained on the
  same records: a plain LM from scratch, one LoRA adapter on the same base, or the base fully
  fine-tuned, each over a grid of epochs (and learning rates for the fine-tune), the best picked
  on the held-out set itself, so the baseline is if anything flattered;
- time to compliance: `deactivate_exact` (the affected shard falls back to its checkpoint before
  the subject's slice, or leaves the ensemble), wall time in a warm worker;
- one subject's erasure by exact retrain (`unlearn_exact`), wall time end to end in a warm worker
  (manifest, proof of the data, checkpoint restore, retrain, saves; tokenizer and base cached by
  sha256 as a long-lived worker keeps them), against a full retrain of the same model (every
  shard from scratch, the base reused) and against retraining the best single model;
- a batch touching k shards retrained as one-shard units (`retrain_shard`) on 1 worker process
  vs 2, then assembled (`finalize_exact_unlearning`), when --fanout is given.

    python bench/sisa_bench.py --small            # a few minutes on 2 shared cores
    python bench/sisa_bench.py --shards 1,4,8,16  # the full run
"""

from __future__ import annotations

import argparse
import concurrent.futures
import copy
import dataclasses
import json
import logging
import multiprocessing
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from erasure_engine.datagen import base_model_texts, build_corpus, size_preset
from erasure_engine.errors import InvalidInput
from erasure_engine.models import perplexity as model_perplexity
from erasure_engine.sisa.backends import CausalLMBackend
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.data import InMemoryDataset
from erasure_engine.sisa.deactivate import deactivate_exact
from erasure_engine.sisa.ensemble import load_ensemble
from erasure_engine.sisa.seeds import derive_seed, deterministic_torch
from erasure_engine.sisa.trainer import ShardResult, fit, load_assets, train_all, train_shared_base
from erasure_engine.sisa.unlearn import (
    UnlearningPlan,
    deletions_from_dataset,
    finalize_exact_unlearning,
    plan_exact_unlearning,
    retrain_shard,
    unlearn_exact,
)
from erasure_engine.storage import LocalObjectStore

SECRET = "bench-secret"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--small", action="store_true", help="tiny model, 480 records, S=1,4,8,16: a few minutes on 2 cores"
    )
    parser.add_argument("--data-size", default="small", help="datagen preset: tiny, small")
    parser.add_argument("--records", type=int, help="use only the records of the first subjects, about N records")
    parser.add_argument("--model-size", choices=("tiny", "small"), default="small")
    parser.add_argument("--shards", default="1,4,8,16", help="comma-separated S values")
    parser.add_argument("--slices", type=int, default=2, help="R slices per shard")
    parser.add_argument("--epochs", type=int, default=6, help="epochs of the single models")
    parser.add_argument(
        "--shard-epochs", type=int, help="epochs per slice step (default: about as many samples as --epochs)"
    )
    parser.add_argument("--base-epochs", type=int, default=6, help="epochs of the shared base on its non-personal text")
    parser.add_argument(
        "--general-texts", type=int, help="general (non-personal) texts for the base (default: the preset's)"
    )
    parser.add_argument(
        "--public-persons",
        type=int,
        default=800,
        help="fictitious public persons (10 texts each, never data subjects) in the base's text; 0: none",
    )
    parser.add_argument(
        "--baseline-epochs", default="1,2,3,4,6,9", help="epochs tried for each single model (the best counts)"
    )
    parser.add_argument(
        "--fine-tune-learning-rates", default="1e-3,3e-3", help="learning rates tried for the fully fine-tuned base"
    )
    parser.add_argument("--lora-rank", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="plain LM")
    parser.add_argument("--lora-learning-rate", type=float, default=1e-2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--max-length", type=int, default=48)
    parser.add_argument("--erasures", type=int, default=2, help="single-subject erasures averaged")
    parser.add_argument(
        "--fanout", type=int, default=0, help="k: subjects in a batch on k shards, run on 1 vs 2 workers"
    )
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.small:
        args.model_size, args.records = "tiny", args.records or 480
        args.epochs, args.base_epochs = min(args.epochs, 6), min(args.base_epochs, 4)
    return args


def workload(args):
    corpus = build_corpus(args.data_size, seed=args.seed, secret=SECRET)
    general_count = args.general_texts or size_preset(args.data_size).general_texts
    base_texts = base_model_texts(general=general_count, public_persons=args.public_persons, seed=args.seed)
    train = corpus.records
    if args.records:
        subjects = sorted({record.subject_key for record in train})
        kept, count = set(), 0
        for subject in subjects:
            if count >= args.records:
                break
            kept.add(subject)
            count += sum(1 for record in train if record.subject_key == subject)
        train = [record for record in train if record.subject_key in kept]
    return train, [record.content["text"] for record in corpus.holdout_records[:300]], base_texts


def lora_config(args, epochs: int) -> SisaConfig:
    return SisaConfig(
        kind="lm-lora",
        size=args.model_size,
        epochs=epochs,
        batch_size=args.batch_size,
        learning_rate=args.lora_learning_rate,
        seed=args.seed,
        max_length=args.max_length,
        vocab_size=512,
        lora_rank=args.lora_rank,
        lora_alpha=2 * args.lora_rank,
        base_epochs=args.base_epochs,
    )


def plain_config(args) -> SisaConfig:
    return SisaConfig(
        kind="lm",
        size=args.model_size,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        seed=args.seed,
        max_length=args.max_length,
        vocab_size=512,
    )


def timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def perplexity(store, version, held_out) -> float:
    return load_ensemble(store, version.model_name, version.version_id).perplexity(held_out)


def subjects_to_erase(dataset: InMemoryDataset, count: int, seed: int) -> list[str]:
    subjects = sorted({record.subject_key for record in dataset.records()})
    return random.Random(seed).sample(subjects, count)


# ---------------------------------------------------------------- single models (the baseline)


def fine_tuned_base(assets, records, config: SisaConfig) -> torch.nn.Module:
    """Baseline (c): a copy of the shared base with every weight trained on all the records."""
    backend = CausalLMBackend(config, {}, assets)
    model = copy.deepcopy(assets.base)
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    with deterministic_torch():
        torch.manual_seed(derive_seed(config.seed, "fine-tune"))
        data = backend.encode(records)
        fit(model, backend.optimizer(model), backend, data, epochs=config.epochs, order_seed=("fine-tune",))
    return model


def single_models(args, store, shared, train, held_out, base_texts) -> list[dict]:
    """Every single-model candidate on all the records, over the epochs grid: a plain LM from
    scratch, one LoRA adapter on the base, the base fully fine-tuned (per learning rate)."""
    whole = InMemoryDataset(train, shards=1, slices=1)
    assets = load_assets(store, shared, device=args.device)
    candidates = []

    def add(model: str, epochs: int, learning_rate: float, ppl: float, seconds: float) -> None:
        candidate = {"model": model, "epochs": epochs, "learning_rate": learning_rate}
        candidates.append({**candidate, "perplexity": ppl, "seconds": seconds})
        print(describe(candidates[-1]), flush=True)

    for epochs in [int(value) for value in args.baseline_epochs.split(",")]:
        plain = dataclasses.replace(plain_config(args), epochs=epochs)
        version, seconds = timed(
            lambda: train_all(store, f"plain-e{epochs}", whole, plain, general_texts=base_texts, device=args.device)
        )
        add("plain LM", epochs, plain.learning_rate, perplexity(store, version, held_out), seconds)
        lora = lora_config(args, epochs)
        version, seconds = timed(
            lambda: train_all(store, f"single-e{epochs}", whole, lora, shared_assets=shared, device=args.device)
        )
        add("one LoRA adapter on the base", epochs, lora.learning_rate, perplexity(store, version, held_out), seconds)
        for learning_rate in [float(value) for value in args.fine_tune_learning_rates.split(",")]:
            config = dataclasses.replace(plain, learning_rate=learning_rate)
            model, seconds = timed(lambda: fine_tuned_base(assets, train, config))
            ppl = model_perplexity(model.eval(), assets.tokenizer, held_out, max_length=args.max_length)
            add("base fully fine-tuned", epochs, learning_rate, ppl, seconds)
    return candidates


def describe(candidate: dict) -> str:
    return (
        f"{candidate['model']} (E={candidate['epochs']}, lr {candidate['learning_rate']:g}): held-out perplexity "
        f"{candidate['perplexity']:.3f}, trained in {candidate['seconds']:.1f}s"
    )


# ---------------------------------------------------------------- fan-out workers

_WORKER: dict = {}


def _worker_init(threads: int) -> None:
    torch.set_num_threads(threads)
    logging.getLogger("transformers").setLevel(logging.ERROR)


def _worker_retrain(
    root: str, plan_json: str, dataset_records: list[dict], shards: int, slices: int, places: dict, shard: int
):
    """One per-shard retrain unit, as a gpu-queue job would run it: plan from JSON, one shard."""
    from erasure_engine.records import Record

    records = [Record.from_json(data) for data in dataset_records]
    dataset = InMemoryDataset(
        records, shards=shards, slices=slices, previous_places={k: tuple(v) for k, v in places.items()}
    )
    plan = UnlearningPlan.from_dict(json.loads(plan_json))
    result = retrain_shard(LocalObjectStore(root), plan, dataset, shard)
    return result.to_dict()


def _warm(_):
    import transformers  # noqa: F401 - a long-lived worker has its imports done

    return True


def fanout(args, root: Path, store, parent, dataset, pools) -> dict:
    """Retrain the k shards of a k-subject batch as k one-shard units on 1 vs 2 workers."""
    by_shard: dict[int, str] = {}
    for record in dataset.records():
        by_shard.setdefault(dataset.shard_slice_of(record.record_id)[0], record.subject_key)
    subjects = [by_shard[shard] for shard in sorted(by_shard)][: args.fanout]
    deleted = dataset.record_ids_of_subjects(subjects)
    after = dataset.without(deleted)
    plan = plan_exact_unlearning(
        parent, dataset_after=after, deletions=deletions_from_dataset(dataset, record_ids=deleted)
    )
    from erasure_engine.datasets.placement import placement_key

    places = {
        placement_key(r.record_id, r.subject_key): list(after.shard_slice_of(r.record_id)) for r in after.records()
    }
    payload = (
        str(root),
        json.dumps(plan.to_dict()),
        [r.to_json() for r in after.records()],
        after.shards,
        after.slices,
        places,
    )
    timings, digests = {}, {}
    for workers, pool in pools.items():
        started = time.perf_counter()
        futures = [pool.submit(_worker_retrain, *payload, shard) for shard in plan.first_affected_slice]
        results = [ShardResult.from_dict(future.result()) for future in futures]
        version = finalize_exact_unlearning(store, plan, results, dataset_after=after)
        timings[workers] = time.perf_counter() - started
        digests[workers] = version.shard_digests
    sequential = unlearn_exact(
        store,
        parent.model_name,
        parent.version_id,
        dataset_after=after,
        deletions=deletions_from_dataset(dataset, record_ids=deleted),
        reuse_existing=False,
    )
    assert all(d == sequential.shard_digests for d in digests.values()), "fan-out differs from the sequential retrain"
    return {"k": len(plan.first_affected_slice), **{f"w{w}": s for w, s in timings.items()}}


# ---------------------------------------------------------------- main


def main(argv=None) -> int:
    args = parse_args(argv)
    logging.getLogger("transformers").setLevel(logging.ERROR)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        print("--device cuda: no CUDA device here", file=sys.stderr)
        return 2
    train, held_out, base_texts = workload(args)
    shard_counts = [int(value) for value in args.shards.split(",")]
    shard_epochs = args.shard_epochs or max(1, round(2 * args.epochs / (args.slices + 1)))
    print(
        f"# SISA bench: model={args.model_size} records={len(train)} subjects={len({r.subject_key for r in train})} "
        f"R={args.slices} E={args.epochs} (per slice step {shard_epochs}) base_epochs={args.base_epochs} "
        f"lora_rank={args.lora_rank} threads={torch.get_num_threads()} python={platform.python_version()} torch={torch.__version__}"
    )
    started_run = time.perf_counter()
    pools = {}
    if args.fanout:
        context = multiprocessing.get_context("spawn")
        for workers in (1, 2):
            pools[workers] = concurrent.futures.ProcessPoolExecutor(
                workers, mp_context=context, initializer=_worker_init, initargs=(args.threads,)
            )
            list(pools[workers].map(_warm, range(workers)))
    with tempfile.TemporaryDirectory(prefix="sisa-bench-") as workdir:
        root = Path(workdir)
        store = LocalObjectStore(root / "store")
        shared, base_seconds = timed(lambda: train_shared_base(store, "bench", lora_config(args, 1), base_texts))
        print(
            f"shared base on {len(base_texts)} non-personal texts ({10 * args.public_persons} of public persons): "
            f"{base_seconds:.1f}s (once; never retrained)",
            flush=True,
        )

        candidates = single_models(args, store, shared, train, held_out, base_texts)
        best = min(candidates, key=lambda candidate: candidate["perplexity"])
        best_ppl, best_seconds = best["perplexity"], best["seconds"]

        rows = []
        for shards in shard_counts:
            dataset = InMemoryDataset(train, shards=shards, slices=args.slices)
            config = lora_config(args, shard_epochs)
            parent, full_seconds = timed(
                lambda: train_all(store, f"sisa-{shards}", dataset, config, shared_assets=shared, device=args.device)
            )
            ensemble_ppl = perplexity(store, parent, held_out)
            compliance, erasure, fractions = [], [], []
            for _index, subject in enumerate(subjects_to_erase(dataset, args.erasures, args.seed + shards)):
                deleted = dataset.record_ids_of_subjects([subject])
                after = dataset.without(deleted)
                deletions = deletions_from_dataset(dataset, record_ids=deleted)
                try:
                    _, seconds = timed(
                        lambda: deactivate_exact(
                            store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions
                        )
                    )
                    compliance.append(seconds)
                except InvalidInput:  # S=1 and the subject in slice 0: nothing untouched is left
                    compliance.append(None)
                version, seconds = timed(
                    lambda: unlearn_exact(
                        store,
                        parent.model_name,
                        parent.version_id,
                        dataset_after=after,
                        deletions=deletions,
                        device=args.device,
                    )
                )
                erasure.append(seconds)
                fractions.append(version.cost["fraction_of_full_retrain"])
            sizes = [sum(c["count"] for c in shard) for shard in parent.data_listing]
            row = {
                "S": shards,
                "full_s": full_seconds,
                "ppl": ensemble_ppl,
                "ratio": ensemble_ppl / best_ppl,
                "compliance_s": max((c for c in compliance if c is not None), default=None),
                "compliance_refused": sum(1 for c in compliance if c is None),
                "erasure_s": statistics.mean(erasure),
                "speedup_full": full_seconds / statistics.mean(erasure),
                "speedup_best": best_seconds / statistics.mean(erasure),
                "fraction": statistics.mean(fractions),
                "sizes": f"{min(sizes)}-{max(sizes)}",
            }
            print(f"S={shards}: {json.dumps(row)}", file=sys.stderr, flush=True)
            if args.fanout and shards >= args.fanout:
                row["fanout"] = fanout(args, root / "store", store, parent, dataset, pools)
                print(f"S={shards} fan-out: {json.dumps(row['fanout'])}", file=sys.stderr, flush=True)
            rows.append(row)
    for pool in pools.values():
        pool.shutdown()

    print()
    for kind in dict.fromkeys(candidate["model"] for candidate in candidates):
        print(f"Best {describe(min((c for c in candidates if c['model'] == kind), key=lambda c: c['perplexity']))}")
    print(f"Best single model overall: {describe(best)}")
    print()
    print(
        "| S | records per shard | ensemble perplexity | ratio to best single (target <= 1.15) | time to compliance (s, max) "
        f"| 1 subject's erasure (s, mean of {args.erasures}) | speedup vs full retrain of this model (target >= 10x) "
        "| speedup vs best single model's retrain | samples retrained / full |"
        + (" fan-out k shards: 1 worker / 2 workers (s) |" if args.fanout else "")
    )
    print("|---|---|---|---|---|---|---|---|---|" + ("---|" if args.fanout else ""))
    for row in rows:
        compliance = "retrain needed" if row["compliance_s"] is None else f"{row['compliance_s']:.3f}"
        if row["compliance_refused"] and row["compliance_s"] is not None:
            compliance += f" ({row['compliance_refused']} needed a retrain)"
        line = (
            f"| {row['S']} | {row['sizes']} | {row['ppl']:.3f} | {row['ratio']:.3f} | {compliance} "
            f"| {row['erasure_s']:.2f} | {row['speedup_full']:.1f}x | {row['speedup_best']:.1f}x | {row['fraction']:.3f} |"
        )
        if args.fanout:
            f = row.get("fanout")
            line += f" k={f['k']}: {f['w1']:.2f} / {f['w2']:.2f} |" if f else " - |"
        print(line)
    print(f"\nwhole run: {time.perf_counter() - started_run:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
