"""Approximate unlearning vs full retraining and exact SISA unlearning on a small workload (CPU).

A tiny GPT-2 memorises fictitious subjects; a few subjects ask to be forgotten. Full retraining
on the retain set gives the oracle (and the time every method is compared with). For each method:
wall time / retrain time, forget-set membership AUC (loss attack: forget records vs never-seen
holdout subjects, via erasure_engine.verification) against the oracle's, the change in retained
utility (top-1 next-token accuracy on the retain set) against the original model, and how much
comes back under the verification suite's two recovery attacks:

- relearning: a copy fine-tuned for a few steps on some forget subjects
  (`verification.relearning`, VerificationPolicy's relearn_* defaults), then the membership AUC
  and the answer probability on the *other* forget subjects;
- quantization: 8-bit and simulated 4-bit weight fake-quantization of a copy
  (`verification.quantization`), then the forget-set membership AUC again.

The oracle row, attacked the same way, is the target of each attack column. The gold line is
exact SISA unlearning (S=1, R slices, `erasure_engine.sisa`) of the same subjects from a SISA
model trained on the same data: its unlearning time is measured here, and its weights equal
training from scratch without the subjects (proved in tests/engine/test_exact_unlearning.py).

Last, every row's model is judged by the full verification suite (`verification.verify`, the
original as parent, the oracle as target): its verdict (passed / failed / inconclusive) and the
reason. The exact SISA row is verified as the platform does: it is its own oracle and its verdict
rests on the construction (`exact_evidence`), with every attack still reported.

    python bench/approximate_bench.py [--subjects 30] [--forget-subjects 3] [--epochs 40] [--threads 1]
        [--verify-bootstrap 200] [--verify-fast] [--no-verdicts]
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from dataclasses import dataclass

import torch

from erasure_engine.datagen import (
    generate_general_text,
    generate_holdout_subjects,
    generate_subjects,
    records_from_subjects,
)
from erasure_engine.models import build_causal_lm, lm_config, record_losses, train_tokenizer, weights_digest
from erasure_engine.records import Record
from erasure_engine.sisa import (
    InMemoryDataset,
    SisaConfig,
    deletions_from_dataset,
    load_ensemble,
    train_all,
    unlearn_exact,
)
from erasure_engine.storage import LocalObjectStore
from erasure_engine.unlearning import unlearn
from erasure_engine.unlearning.approximate.tasks import LanguageModelTask, mean_nll
from erasure_engine.verification import VerificationPolicy, membership_attack, verify
from erasure_engine.verification.digests import tokenizer_digest
from erasure_engine.verification.knowledge import is_qa_record, knowledge_probe
from erasure_engine.verification.quantization import quantized_copy
from erasure_engine.verification.relearning import finetuned_copy, split_by_subject

SECRET = "bench-secret"
MODEL_OVERRIDES = {"n_embd": 64}  # tiny GPT-2 (2 layers) with a wider hidden size
LEARNING_RATE, BATCH_SIZE, MAX_LENGTH = 3e-3, 16, 64
QUANTIZATION_BITS = (8, 4)
# Per-method settings for this workload (defaults are sized for bigger models).
METHODS: list[tuple[str, dict]] = [
    ("gradient_ascent", {"lr": 1e-3, "steps": 8}),
    ("gradient_difference", {"lr": 5e-4, "steps": 20, "retain_weight": 3.0}),
    ("npo", {"lr": 2e-3, "steps": 25}),
    ("ssd", {}),
    ("lora", {"lr": 1e-2, "steps": 25, "objective": "npo"}),
]


@dataclass(frozen=True)
class Workload:
    retain: list[Record]
    forget: list[Record]
    holdout: list[Record]
    relearn_attack: list[Record]  # forget subjects the relearning attack trains on
    relearn_evaluation: list[Record]  # the other forget subjects, probed after the attack


@dataclass(frozen=True)
class Row:
    name: str
    seconds: float | None
    forget_auc: float
    retain_accuracy: float
    relearn_auc: float
    answer_probability: float  # relearning evaluation subjects, before the attack
    relearned_answer_probability: float  # ... after it
    quantized_auc: dict[int, float]


def train_from_scratch(records: list[Record], tokenizer, *, epochs: int, seed: int = 0) -> torch.nn.Module:
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer, overrides=MODEL_OVERRIDES), seed=seed)
    task = LanguageModelTask(model, tokenizer)
    items = task.prepare(records, "train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=LEARNING_RATE)
    order = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        permutation = torch.randperm(len(items), generator=order)
        for start in range(0, len(items), BATCH_SIZE):
            batch = task.collate([items[i] for i in permutation[start : start + BATCH_SIZE]], torch.device("cpu"))
            loss = mean_nll(task, model, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    model.eval()
    return model


def forget_auc(model, tokenizer, forget: list[Record], holdout: list[Record]) -> float:
    members = [
        -loss for loss in record_losses(model, tokenizer, [r.content["text"] for r in forget], max_length=MAX_LENGTH)
    ]
    outsiders = [
        -loss for loss in record_losses(model, tokenizer, [r.content["text"] for r in holdout], max_length=MAX_LENGTH)
    ]
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


def answer_probability(model, tokenizer, records: list[Record]) -> float:
    """Mean p(answer | question)^(1/|answer|) over the question–answer records (knowledge probe)."""
    return knowledge_probe(model, tokenizer, [r for r in records if is_qa_record(r)]).mean_answer_probability


def measure(name: str, seconds: float | None, model, tokenizer, work: Workload, policy: VerificationPolicy) -> Row:
    """Every column of one row; the attacks work on copies, `model` is left as it is."""
    relearned = finetuned_copy(
        model,
        work.relearn_attack,
        tokenizer=tokenizer,
        steps=policy.relearn_steps,
        learning_rate=policy.relearn_learning_rate,
        batch_size=policy.relearn_batch_size,
        seed=0,
    )
    return Row(
        name=name,
        seconds=seconds,
        forget_auc=forget_auc(model, tokenizer, work.forget, work.holdout),
        retain_accuracy=token_accuracy(model, tokenizer, work.retain),
        relearn_auc=forget_auc(relearned, tokenizer, work.relearn_evaluation, work.holdout),
        answer_probability=answer_probability(model, tokenizer, work.relearn_evaluation),
        relearned_answer_probability=answer_probability(relearned, tokenizer, work.relearn_evaluation),
        quantized_auc={
            bits: forget_auc(quantized_copy(model, bits), tokenizer, work.forget, work.holdout)
            for bits in QUANTIZATION_BITS
        },
    )


def exact_sisa(records: list[Record], forget: list[Record], general_texts: list[str], *, slices: int, epochs: int):
    """Train an S=1 SISA model on all records, then time `unlearn_exact` of the forget subjects.
    Per-slice epochs round(2E/(R+1)) give about as many samples as E monolithic epochs (as in
    bench/sisa_bench.py). Returns the unlearned model, its tokenizer, the unlearning seconds and
    the affected shards' entries (shard, first slice retrained)."""
    config = SisaConfig(
        kind="lm",
        size="tiny",
        epochs=max(1, round(2 * epochs / (slices + 1))),
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        seed=0,
        max_length=MAX_LENGTH,
        vocab_size=512,
        model_overrides=MODEL_OVERRIDES,
    )
    dataset = InMemoryDataset(records, shards=1, slices=slices)
    with tempfile.TemporaryDirectory(prefix="approx-bench-sisa-") as workdir:
        store = LocalObjectStore(workdir)
        parent = train_all(store, "bench-lm", dataset, config, general_texts=general_texts)
        deletions = deletions_from_dataset(dataset, subject_keys={r.subject_key for r in forget})
        after = dataset.without(d.record_id for d in deletions)
        started = time.perf_counter()
        version = unlearn_exact(store, parent.model_name, parent.version_id, dataset_after=after, deletions=deletions)
        seconds = time.perf_counter() - started
        ensemble = load_ensemble(store, version.model_name, version.version_id)
        return ensemble.shard_model(0), ensemble.tokenizer, seconds, version.unlearning["affected"]


def print_table(rows: list[Row], retrain_seconds: float) -> None:
    original, oracle = rows[0], rows[1]
    bits = " | ".join(f"{b}-bit AUC" for b in QUANTIZATION_BITS)
    print(
        "| method | wall s | % of retrain | forget MIA AUC | Δ vs oracle AUC | retain token acc "
        f"| Δ utility vs original | relearn AUC | answer p → after relearn | {bits} |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(QUANTIZATION_BITS))
    for row in rows:
        wall = "—" if row.seconds is None else f"{row.seconds:.2f}"
        share = "—" if row.seconds is None else f"{100 * row.seconds / retrain_seconds:.1f}%"
        delta_utility = 100 * (row.retain_accuracy - original.retain_accuracy) / original.retain_accuracy
        quantized = " | ".join(f"{row.quantized_auc[b]:.3f}" for b in QUANTIZATION_BITS)
        print(
            f"| {row.name} | {wall} | {share} | {row.forget_auc:.3f} | {row.forget_auc - oracle.forget_auc:+.3f} "
            f"| {row.retain_accuracy:.4f} | {delta_utility:+.2f}% | {row.relearn_auc:.3f} "
            f"| {row.answer_probability:.3f} → {row.relearned_answer_probability:.3f} | {quantized} |"
        )


def print_verdicts(verdicts: list[tuple[str, object]]) -> None:
    print("| method | verdict | failed gates | inconclusive gates | reason |")
    print("|---|---|---|---|---|")
    for name, verdict in verdicts:
        if verdict is None:
            print(f"| {name} | — | — | — | not verified (tokenizer differs from the original's) |")
            continue
        failed = ", ".join(verdict.failed_metrics) or "—"
        inconclusive = ", ".join(verdict.inconclusive_metrics) or "—"
        reason = verdict.reason if verdict.outcome != "failed" else "a gate failed"
        print(f"| {name} | **{verdict.outcome.upper()}** | {failed} | {inconclusive} | {reason} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--forget-subjects", type=int, default=3)
    parser.add_argument("--holdout-subjects", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--sisa-slices", type=int, default=2, help="R of the exact SISA gold line (S=1)")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--verify-bootstrap", type=int, default=200, help="bootstrap repetitions of each verdict")
    parser.add_argument("--no-verdicts", action="store_true", help="skip the full verification of every row")
    parser.add_argument(
        "--verify-fast",
        action="store_true",
        help="verdicts with one quantization attack (4-bit) and 5 relearning steps, for small runs",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    logging.getLogger("transformers").setLevel(logging.ERROR)
    began = time.perf_counter()

    def stage(message: str) -> None:
        print(f"[{time.perf_counter() - began:6.1f}s] {message}", file=sys.stderr, flush=True)

    records = records_from_subjects(generate_subjects(args.subjects, seed=0), SECRET)
    holdout = records_from_subjects(generate_holdout_subjects(args.holdout_subjects, seed=0), SECRET)
    general_texts = [r.content["text"] for r in generate_general_text(200, seed=0)]
    tokenizer = train_tokenizer(general_texts, vocab_size=512)
    per_subject = len(records) // args.subjects
    forget, retain = records[: args.forget_subjects * per_subject], records[args.forget_subjects * per_subject :]
    policy = VerificationPolicy()
    attack, evaluation = split_by_subject(forget, policy.relearn_fraction, seed=0)
    work = Workload(retain=retain, forget=forget, holdout=holdout, relearn_attack=attack, relearn_evaluation=evaluation)

    stage("training the original model")
    original = train_from_scratch(records, tokenizer, epochs=args.epochs)
    stage("full retrain without the forget set (oracle)")
    started = time.perf_counter()
    oracle = train_from_scratch(retain, tokenizer, epochs=args.epochs)
    retrain_seconds = time.perf_counter() - started

    rows = [
        measure("original (no unlearning)", None, original, tokenizer, work, policy),
        measure("full retrain (oracle)", retrain_seconds, oracle, tokenizer, work, policy),
    ]
    judged = [("original (no unlearning)", original), ("full retrain (oracle)", oracle)]
    for method, params in METHODS:
        stage(method)
        result = unlearn(method, original, forget=forget, retain=retain, tokenizer=tokenizer, params=params, seed=0)
        candidate = result.merged_model()
        rows.append(measure(method, result.wall_seconds, candidate, tokenizer, work, policy))
        judged.append((method, candidate))
    stage(f"exact SISA (S=1, R={args.sisa_slices}): training, then unlearning")
    sisa_model, sisa_tokenizer, sisa_seconds, affected = exact_sisa(
        records, forget, general_texts, slices=args.sisa_slices, epochs=args.epochs
    )
    rows.append(
        measure(f"exact SISA (S=1, R={args.sisa_slices})", sisa_seconds, sisa_model, sisa_tokenizer, work, policy)
    )
    verdicts = []
    if not args.no_verdicts:
        verify_policy = {"bootstrap_repetitions": args.verify_bootstrap, "batch_size": 64}
        if args.verify_fast:
            verify_policy.update(quantization_bits=[4], relearn_steps=5)
        for name, model in judged:
            stage(f"verdict: {name}")
            verdicts.append(
                (
                    name,
                    verify(
                        model,
                        original,
                        forget,
                        retain,
                        holdout,
                        oracle=oracle,
                        tokenizer=tokenizer,
                        policy=verify_policy,
                        seed=0,
                    ),
                )
            )
        name = f"exact SISA (S=1, R={args.sisa_slices})"
        stage(f"verdict: {name}")
        if tokenizer_digest(sisa_tokenizer) == tokenizer_digest(tokenizer):
            evidence = {
                "retrained_checkpoints": {"0": weights_digest(sisa_model)},
                "reused_shards": {},
                "retrained_slices": affected,
            }
            verdicts.append(
                (
                    name,
                    verify(
                        sisa_model,
                        original,
                        forget,
                        retain,
                        holdout,
                        oracle=sisa_model,
                        tokenizer=tokenizer,
                        policy=verify_policy,
                        seed=0,
                        exact_evidence=evidence,
                    ),
                )
            )
        else:
            verdicts.append((name, None))
    stage("done")

    retrained_slices = sum(args.sisa_slices - entry["first_slice"] for entry in affected)
    print(
        f"workload: {len(records)} records ({args.subjects} subjects), forget {len(forget)} "
        f"({args.forget_subjects} subjects), holdout {len(holdout)}, tiny GPT-2 (n_embd 64, 2 layers), "
        f"{args.epochs} epochs, {args.threads} CPU thread(s); full retrain {retrain_seconds:.1f} s; "
        f"relearning: {policy.relearn_steps} steps, lr {policy.relearn_learning_rate:g}, batch "
        f"{policy.relearn_batch_size}, on {len(attack)} records of the forget subjects, probed on the other "
        f"{len(evaluation)}; exact SISA retrained {retrained_slices} of {args.sisa_slices} slices; "
        f"total run {time.perf_counter() - began:.0f} s"
    )
    print_table(rows, retrain_seconds)
    if verdicts:
        print()
        print_verdicts(verdicts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
