"""Relearning attack: fine-tune a COPY of the model for a few steps, then probe it again.

If an unlearned model regains forgotten knowledge after a handful of steps on a few forget
records (or even on retained data only), the knowledge was suppressed, not removed."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable

import numpy as np
import torch

from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record
from erasure_engine.verification.classifier_statistics import tabular_tensors
from erasure_engine.verification.lm_statistics import encode_text, model_max_length, pad_token_id, padded_batch


def split_by_subject(records: list[Record], fraction: float, seed: int) -> tuple[list[Record], list[Record]]:
    """(attack set, evaluation set). Whole subjects go to the attack set, so what the attack
    recovers on the evaluation subjects is knowledge that was hidden, not knowledge just taught.
    With a single subject the records themselves are split."""
    if len(records) < 2:
        raise InvalidInput("the relearning attack needs at least 2 forget records")
    rng = np.random.default_rng(seed)
    subjects = sorted({record.subject_key for record in records})
    if len(subjects) >= 2:
        count = min(len(subjects) - 1, max(1, math.ceil(fraction * len(subjects))))
        chosen = {subjects[i] for i in rng.permutation(len(subjects))[:count]}
        attack = [r for r in records if r.subject_key in chosen]
        evaluation = [r for r in records if r.subject_key not in chosen]
    else:
        count = min(len(records) - 1, max(1, math.ceil(fraction * len(records))))
        chosen_indices = set(rng.permutation(len(records))[:count].tolist())
        attack = [r for i, r in enumerate(records) if i in chosen_indices]
        evaluation = [r for i, r in enumerate(records) if i not in chosen_indices]
    return attack, evaluation


def sample_records(records: list[Record], count: int, seed: int) -> list[Record]:
    rng = np.random.default_rng(seed)
    indices = sorted(rng.permutation(len(records))[: min(count, len(records))].tolist())
    return [records[i] for i in indices]


def _lm_loss(tokenizer) -> Callable:
    def loss(model, batch: list[Record]) -> torch.Tensor:
        max_length = model_max_length(model)
        sequences = [encode_text(tokenizer, r.content["text"], max_length=max_length) for r in batch]
        input_ids, attention_mask = padded_batch(sequences, pad_token_id(tokenizer))
        labels = input_ids.masked_fill(attention_mask == 0, -100)
        return model(input_ids=input_ids, attention_mask=attention_mask, labels=labels).loss

    return loss


def _classifier_loss(model, batch: list[Record]) -> torch.Tensor:
    features, labels = tabular_tensors(batch)
    return torch.nn.functional.cross_entropy(model(features), labels)


def finetuned_copy(
    model: torch.nn.Module,
    records: list[Record],
    *,
    tokenizer=None,
    steps: int,
    learning_rate: float,
    batch_size: int,
    seed: int,
) -> torch.nn.Module:
    """AdamW on a deep copy; batches cycle through seeded permutations of `records`.
    The caller's model and global RNG are left untouched."""
    if not records:
        raise InvalidInput("the relearning attack needs at least one record to train on")
    loss_fn = _lm_loss(tokenizer) if tokenizer is not None else _classifier_loss
    attacked = copy.deepcopy(model)
    # An attacker fine-tunes every weight, even ones the candidate left frozen (a merged
    # LoRA model keeps peft's frozen flags).
    attacked.requires_grad_(True)
    attacked.train()
    rng = np.random.default_rng(seed)
    order: list[int] = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        optimizer = torch.optim.AdamW(attacked.parameters(), lr=learning_rate, weight_decay=0.0)
        for _ in range(steps):
            if len(order) < batch_size:
                order += rng.permutation(len(records)).tolist() * max(1, math.ceil(batch_size / len(records)))
            batch, order = [records[i] for i in order[:batch_size]], order[batch_size:]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(attacked, batch).backward()
            optimizer.step()
    attacked.eval()
    return attacked
