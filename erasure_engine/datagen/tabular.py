"""A learnable tabular classification set tied to data subjects.

Classes are Gaussian clusters; every subject also has its own small offset, so a model can
fit (and membership attacks can detect) a subject's rows beyond the class structure."""

from __future__ import annotations

import random

from erasure_engine.datagen.subjects import Subject
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record, subject_key

_DECIMALS = 6  # rounded so canonical JSON (and so content hashes) is stable


def generate_tabular(
    subjects: list[Subject],
    secret: bytes | str,
    *,
    seed: int,
    records_per_subject: int = 4,
    features: int = 8,
    classes: int = 3,
    class_separation: float = 3.0,
    subject_spread: float = 0.5,
    noise: float = 1.0,
) -> list[Record]:
    """Records `<subject stem>-tab-<n>` with content {"features": [float, ...], "label": int}."""
    if records_per_subject < 1 or features < 1 or classes < 2:
        raise InvalidInput("tabular data needs records_per_subject >= 1, features >= 1, classes >= 2")
    center_rng = random.Random(f"tabular-centers:{seed}:{features}:{classes}")
    centers = [[center_rng.gauss(0.0, class_separation) for _ in range(features)] for _ in range(classes)]
    records = []
    for subject in subjects:
        rng = random.Random(f"tabular:{seed}:{subject.stream}:{subject.index}")
        offset = [rng.gauss(0.0, subject_spread) for _ in range(features)]
        key = subject_key(subject.identifier, secret)
        for number in range(1, records_per_subject + 1):
            label = rng.randrange(classes)
            row = [
                round(center + shift + rng.gauss(0.0, noise), _DECIMALS)
                for center, shift in zip(centers[label], offset)
            ]
            records.append(Record(f"{subject.id_stem}-tab-{number}", key, {"features": row, "label": label}))
    return records
