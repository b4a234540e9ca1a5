"""Deterministic fictitious data: subjects with memorisable facts, a never-seen holdout,
general text with no subject, public persons' text in the records' formats for a base model
(never a data subject), and a tabular classification set. Seeded `random.Random`
instances only; no global RNG."""

from erasure_engine.datagen.corpus import Corpus, build_corpus
from erasure_engine.datagen.general_text import NO_SUBJECT_KEY, generate_general_text
from erasure_engine.datagen.presets import SIZE_PRESETS, SizePreset, size_preset
from erasure_engine.datagen.public_text import (
    DEFAULT_PUBLIC_PERSONS,
    PUBLIC_PERSONS_ENV,
    base_model_texts,
    default_public_persons,
    generate_public_persons,
    generate_public_text,
)
from erasure_engine.datagen.subjects import (
    Subject,
    generate_holdout_subjects,
    generate_subjects,
    name_capacity,
    records_from_subjects,
)
from erasure_engine.datagen.tabular import generate_tabular

__all__ = [
    "Corpus",
    "NO_SUBJECT_KEY",
    "SIZE_PRESETS",
    "SizePreset",
    "Subject",
    "DEFAULT_PUBLIC_PERSONS",
    "PUBLIC_PERSONS_ENV",
    "base_model_texts",
    "default_public_persons",
    "build_corpus",
    "generate_general_text",
    "generate_holdout_subjects",
    "generate_public_persons",
    "generate_public_text",
    "generate_subjects",
    "generate_tabular",
    "name_capacity",
    "records_from_subjects",
    "size_preset",
]
