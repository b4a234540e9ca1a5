"""Named sizes: `tiny` for tests, `small` for demos, `reference` for benchmarks."""

from __future__ import annotations

from dataclasses import dataclass

from erasure_engine.errors import InvalidInput


@dataclass(frozen=True)
class SizePreset:
    subjects: int
    holdout_subjects: int
    general_texts: int
    tabular_records_per_subject: int = 4


SIZE_PRESETS: dict[str, SizePreset] = {
    "tiny": SizePreset(subjects=20, holdout_subjects=10, general_texts=60),
    "small": SizePreset(subjects=120, holdout_subjects=60, general_texts=400),
    "reference": SizePreset(subjects=600, holdout_subjects=200, general_texts=2000),
}


def size_preset(name: str) -> SizePreset:
    try:
        return SIZE_PRESETS[name]
    except KeyError:
        raise InvalidInput(f"unknown size preset {name!r}; choose one of {sorted(SIZE_PRESETS)}") from None
