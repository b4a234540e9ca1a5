"""Approximate unlearning vs full retraining on a small reference workload (CPU).

A tiny GPT-2 memorises fictitious subjects; a few subjects ask to be forgotten. Full retraining
on the retain set gives the oracle (and the time every method is compared with). For each method:
wall time / retrain time, forget-set membership AUC (loss attack: forget records vs never-seen
holdout subjects, via erasure_engine.verification) against the oracle's, and the change in
retained utility (top-1 next-token accuracy on the retain set) against the original model.

    python bench/approximate_bench.py [--subjects 30] [--forget-subjects 3] [--epochs 40]
"""

from __future__ import annotations

import argparse
import time

import torch

from erasure_engine.datagen import generate_general_text, generate_holdout_subjects, generate_subjects, records_from_subjects
from erasure_engine.models import build_causal_lm, lm_config, record_losses, train_tokenizer
from erasure_engine.records import Record
from erasure_engine.unlearning import unlearn
from erasure_engine.unlearning.approximate.tasks import LanguageModelTask, mean_nll
from erasure_engine.verification import membership_attack

SECRET = "bench-secret"
# Per-method settings for this workload (defaults are sized for bigger models).
METHODS: list[tuple[str, dict]] = [
    ("gradient_ascent", {"lr": 1e-3, "steps": 8}),
    ("gradient_difference", {"lr": 5e-4, "steps": 20, "retain_weight": 3.0}),
    ("npo", {"lr": 2e-3, "steps": 25}),
    ("ssd", {}),
    ("lora", {"lr": 1e-2, "steps": 25, "objective": "npo"}),
]


def train_from_scratch(records: list[Record], tokenizer, *, epochs: int, seed: int = 0) -> torch.nn.Module:
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer, overrides={"n_embd": 64}), seed=seed)
    task = LanguageModelTask(model, tokenizer)
    items = task.prepare(records, "train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        permutation = torch.randperm(len(items), generator=order)
        for start in range(0, len(items), 16):
            batch = task.collate([items[i] for i in permutation[start : start + 16]], torch.device("cpu"))
            loss = mean_nll(task, model, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def forget_auc(model, tokenizer, forget: list[Record], holdout: list[Record]) -> float:
    members = [-loss for loss in record_losses(model, tokenizer, [r.content["text"] for r in forget])]
    outsiders = [-loss for loss in record_losses(model, tokenizer, [r.content["text"] for r in holdout])]
    return membership_attack(members, outsiders).auc


@torch.no_grad()
def token_accuracy(model, tokenizer, records: list[Record]) -> float:
    task = LanguageModelTask(model, tokenizer)
    items = task.prepare(records, "utility")
    correct = total = 0.0
    for start in range(0, len(items), 64):
        batch = task.collate(items[start : start + 64], torch.device("cpu"))
        predicted = model(**batch).logits[:, :-1].argmax(-1)
        mask = batch["attention_mask"][:, 1:].bool()
        correct += (predicted == batch["input_ids"][:, 1:])[mask].sum().item()
        total += mask.sum().item()
    return correct / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--forget-subjects", type=int, default=3)
    parser.add_argument("--holdout-subjects", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    records = records_from_subjects(generate_subjects(args.subjects, seed=0), SECRET)
    holdout = records_from_subjects(generate_holdout_subjects(args.holdout_subjects, seed=0), SECRET)
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(200, seed=0)], vocab_size=512)
    per_subject = len(records) // args.subjects
    forget, retain = records[: args.forget_subjects * per_subject], records[args.forget_subjects * per_subject :]

    original = train_from_scratch(records, tokenizer, epochs=args.epochs)
    started = time.perf_counter()
    oracle = train_from_scratch(retain, tokenizer, epochs=args.epochs)
    retrain_seconds = time.perf_counter() - started

    original_utility = token_accuracy(original, tokenizer, retain)
    rows = [("original (no unlearning)", None, forget_auc(original, tokenizer, forget, holdout), original_utility),
            ("full retrain (oracle)", retrain_seconds, forget_auc(oracle, tokenizer, forget, holdout),
             token_accuracy(oracle, tokenizer, retain))]
    for method, params in METHODS:
        result = unlearn(method, original, forget=forget, retain=retain, tokenizer=tokenizer, params=params, seed=0)
        candidate = result.merged_model()
        rows.append((method, result.wall_seconds, forget_auc(candidate, tokenizer, forget, holdout),
                     token_accuracy(candidate, tokenizer, retain)))

    oracle_auc = rows[1][2]
    print(f"workload: {len(records)} records ({args.subjects} subjects), forget {len(forget)} "
          f"({args.forget_subjects} subjects), holdout {len(holdout)}, tiny GPT-2 (n_embd 64, 2 layers), "
          f"{args.epochs} epochs, {args.threads} CPU thread(s); full retrain {retrain_seconds:.1f} s")
    print("| method | wall s | % of retrain | forget MIA AUC | Δ vs oracle AUC | retain token acc | Δ utility vs original |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seconds, auc, utility in rows:
        wall = "—" if seconds is None else f"{seconds:.2f}"
        share = "—" if seconds is None else f"{100 * seconds / retrain_seconds:.1f}%"
        delta_utility = 100 * (utility - original_utility) / original_utility
        print(f"| {name} | {wall} | {share} | {auc:.3f} | {auc - oracle_auc:+.3f} | {utility:.4f} | {delta_utility:+.2f}% |")


if __name__ == "__main__":
    main()
