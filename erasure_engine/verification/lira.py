"""A LiRA-style calibrated membership attack (Carlini et al., 2022, offline variant).

The plain loss attack asks "is this record's loss low?"; some records are easy for every model.
LiRA asks "is it lower than models that never saw this record would give it?". Reference models
that never trained on a subject (SISA gives them for free: the shards that never held the
subject) give, per record, the distribution of its confidence when OUT of training; the score is
how many of their standard deviations the audited model's confidence lies above their mean."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record

# Below this many OUT references per record, a per-record spread is too noisy: use the pooled one.
MIN_REFERENCES_FOR_OWN_SPREAD = 4


@dataclass(frozen=True)
class ReferenceModel:
    """A model and the subjects it trained on (it is OUT for every other subject); `source` says
    where it came from (e.g. "model/version shard 2"), recorded in the verdict's inputs."""

    model: torch.nn.Module
    trained_subjects: frozenset[str]
    source: str = ""

    def __post_init__(self):
        object.__setattr__(self, "trained_subjects", frozenset(self.trained_subjects))


def out_mask(references: Sequence[ReferenceModel], records: list[Record]) -> np.ndarray:
    """(references × records) True where the reference never trained on the record's subject."""
    mask = np.array(
        [[record.subject_key not in ref.trained_subjects for record in records] for ref in references], dtype=bool
    )
    if mask.size and not mask.any(axis=0).all():
        missing = [records[i].record_id for i in np.flatnonzero(~mask.any(axis=0))[:3]]
        raise InvalidInput(
            f"LiRA needs, for every record, a reference model that never saw its subject (none for {missing})"
        )
    return mask


def lira_scores(target: np.ndarray, reference: np.ndarray, out: np.ndarray) -> np.ndarray:
    """target: (n,) the audited model's confidence per record (higher = more member-like, e.g. −loss);
    reference: (m, n) the same confidence under m reference models; out: (m, n) which of them are
    OUT for each record. Returns (target − μ_out) / σ_out per record: higher = more likely a member."""
    target = np.asarray(target, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    out = np.asarray(out, dtype=bool)
    if reference.ndim != 2 or reference.shape != out.shape or reference.shape[1] != target.size:
        raise InvalidInput("LiRA needs one reference score per reference model and record")
    if not out.any(axis=0).all():
        raise InvalidInput("LiRA needs at least one OUT reference per record")
    counts = out.sum(axis=0)
    means = np.where(out, reference, 0.0).sum(axis=0) / counts
    deviations = np.where(out, reference - means, 0.0)
    pooled_dof = int(np.sum(counts - 1))
    if pooled_dof > 0:
        pooled = float(np.sqrt(np.sum(deviations**2) / pooled_dof))
    else:
        # One reference per record: the spread across records of (target − reference) stands in.
        pooled = float(np.std(target - means, ddof=1)) if target.size > 1 else 1.0
    pooled = max(pooled, 1e-6)
    own = np.sqrt(np.sum(deviations**2, axis=0) / np.maximum(counts - 1, 1))
    spread = np.where(counts >= MIN_REFERENCES_FOR_OWN_SPREAD, np.maximum(own, 1e-6), pooled)
    return (target - means) / spread
