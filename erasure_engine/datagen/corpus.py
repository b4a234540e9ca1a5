"""Everything one experiment needs, generated together from one seed and one size."""

from __future__ import annotations

from dataclasses import dataclass

from erasure_engine.datagen.general_text import generate_general_text
from erasure_engine.datagen.presets import size_preset
from erasure_engine.datagen.subjects import (
    Subject,
    generate_holdout_subjects,
    generate_subjects,
    records_from_subjects,
)
from erasure_engine.records import Record


@dataclass(frozen=True)
class Corpus:
    subjects: list[Subject]
    records: list[Record]  # training records about `subjects`
    holdout_subjects: list[Subject]
    holdout_records: list[Record]  # same kind of records about never-seen subjects
    general_records: list[Record]  # no data subject


def build_corpus(size: str, *, seed: int, secret: bytes | str) -> Corpus:
    preset = size_preset(size)
    subjects = generate_subjects(preset.subjects, seed)
    holdout = generate_holdout_subjects(preset.holdout_subjects, seed)
    return Corpus(
        subjects=subjects,
        records=records_from_subjects(subjects, secret),
        holdout_subjects=holdout,
        holdout_records=records_from_subjects(holdout, secret),
        general_records=generate_general_text(preset.general_texts, seed),
    )
