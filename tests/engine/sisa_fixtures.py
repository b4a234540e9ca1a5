"""Tiny SISA workloads shared by the SISA and exact-unlearning tests (seconds, not minutes)."""

from __future__ import annotations

import torch

from erasure_engine.datagen import build_corpus, generate_general_text, generate_tabular
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.data import InMemoryDataset

torch.set_num_threads(1)

SECRET = "test-secret"
SHARDS, SLICES = 2, 3
GENERAL_TEXTS = [record.content["text"] for record in generate_general_text(60, seed=11)]


def tiny_config(kind: str) -> SisaConfig:
    if kind == "classifier":
        return SisaConfig(kind=kind, epochs=2, batch_size=8, learning_rate=1e-2, seed=7)
    return SisaConfig(
        kind=kind, epochs=1, batch_size=8, learning_rate=3e-3, seed=7, max_length=32, vocab_size=300, base_epochs=1
    )


def tiny_dataset(kind: str) -> InMemoryDataset:
    corpus = build_corpus("tiny", seed=5, secret=SECRET)
    if kind == "classifier":
        records = generate_tabular(corpus.subjects, SECRET, seed=5, records_per_subject=4)
    else:
        records = corpus.records[:72]
    return InMemoryDataset(records, shards=SHARDS, slices=SLICES)
