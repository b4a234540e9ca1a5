"""Tiny causal LMs trained here for the verification tests: a parent that memorised every
subject and oracles retrained without nested forget sets of 1, 3 and 10 subjects. The oracles
double as partial forgetters: the 1-subject oracle forgot only one of the 3-subject forget set."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch

from erasure_engine.datagen import generate_holdout_subjects, generate_subjects, records_from_subjects
from erasure_engine.datagen.general_text import generate_general_text
from erasure_engine.models import lm_config, train_tokenizer
from erasure_engine.records import Record
from erasure_engine.sisa.backends import CausalLMBackend, LoadedAssets
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.trainer import fit

SECRET = "verification-decision"
FORGET_SIZES = (1, 3, 10)
RETAIN_SUBJECTS = 6
# Enough steps (batches of 8) for the parent to answer its QA probes greedily, word for word: with
# fewer, even the parent knows no answer and the knowledge gates have no power.
BATCH_SIZE = 8
EPOCHS = 30
# Then a few epochs at a tenth of the rate: at a constant rate the last steps keep moving the weights,
# and whether greedy decoding reproduces a whole answer would depend on where training happened to stop.
SETTLE_EPOCHS = 5
SETTLE_RATE_FACTOR = 0.1


@dataclass
class TrainedFamily:
    tokenizer: object
    subjects: list[str]  # subject keys, forget sets are prefixes of this list
    records: list[Record]
    holdout: list[Record]
    parent: torch.nn.Module
    oracles: dict[int, torch.nn.Module] = field(default_factory=dict)  # forget size -> retrained without them

    def forget(self, size: int) -> list[Record]:
        keys = set(self.subjects[:size])
        return [r for r in self.records if r.subject_key in keys]

    def retain(self, size: int) -> list[Record]:
        keys = set(self.subjects[:size])
        return [r for r in self.records if r.subject_key not in keys]


def noisy_copy(model: torch.nn.Module, scale: float, seed: int) -> torch.nn.Module:
    """The model plus Gaussian noise of `scale` × each weight tensor's own standard deviation."""
    noisy = copy.deepcopy(model)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in noisy.parameters():
            if parameter.numel() > 1:
                noise = torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype)
                parameter.add_(noise * scale * parameter.std())
    return noisy


def train_family() -> TrainedFamily:
    torch.set_num_threads(1)
    people = generate_subjects(max(FORGET_SIZES) + RETAIN_SUBJECTS, seed=11)
    records = records_from_subjects(people, SECRET)
    subjects = list(dict.fromkeys(r.subject_key for r in records))
    holdout = records_from_subjects(generate_holdout_subjects(6, seed=11), SECRET)
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(80, seed=11)], vocab_size=400)
    config = SisaConfig(kind="lm", batch_size=BATCH_SIZE, learning_rate=5e-3, seed=0)
    model_config = lm_config("tiny", tokenizer=tokenizer, overrides={"n_embd": 64}).to_dict()

    def train(training: list[Record]) -> torch.nn.Module:
        backend = CausalLMBackend(config, model_config, LoadedAssets(tokenizer=tokenizer))
        model = backend.initial_model(0)
        optimizer = backend.optimizer(model)
        data = backend.encode(training)
        # As many optimiser steps as the parent: every oracle is as converged on what it kept.
        scale = len(records) / len(training)
        fit(model, optimizer, backend, data, epochs=round(EPOCHS * scale), order_seed=("verify",))
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate * SETTLE_RATE_FACTOR
        fit(model, optimizer, backend, data, epochs=round(SETTLE_EPOCHS * scale), order_seed=("verify", "settle"))
        return model

    family = TrainedFamily(
        tokenizer=tokenizer, subjects=subjects, records=records, holdout=holdout, parent=train(records)
    )
    for size in FORGET_SIZES:
        family.oracles[size] = train(family.retain(size))
    return family
