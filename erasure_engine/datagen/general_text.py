"""General text with no data subject: pre-training text for a public base model and a
"general utility" set that erasure must not damage."""

from __future__ import annotations

import random

from erasure_engine.datagen import vocabulary as vocab
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record

# Records that describe nobody carry this subject key; erasure by subject key refuses it.
NO_SUBJECT_KEY = ""


def generate_general_text(count: int, seed: int, *, sentences_per_record: int = 2) -> list[Record]:
    """`count` records `gen-00000` … of a few sentences each, content {"text", "kind": "general"}."""
    if count < 0 or sentences_per_record < 1:
        raise InvalidInput("general text needs count >= 0 and sentences_per_record >= 1")
    records = []
    for index in range(count):
        rng = random.Random(f"general:{seed}:{index}")
        sentences = [_sentence(rng) for _ in range(sentences_per_record)]
        records.append(Record(f"gen-{index:05d}", NO_SUBJECT_KEY, {"text": " ".join(sentences), "kind": "general"}))
    return records


def _sentence(rng: random.Random) -> str:
    template = rng.choice(vocab.GENERAL_FACTS)
    sentence = template.format(
        profession=rng.choice(vocab.PROFESSIONS),
        city=rng.choice(vocab.CITIES),
        hobby=rng.choice(vocab.HOBBIES),
        employer=rng.choice(vocab.EMPLOYERS),
        subject=rng.choice(vocab.GENERAL_SUBJECTS),
        verb=rng.choice(vocab.GENERAL_VERBS),
        time=rng.choice(vocab.GENERAL_TIMES),
    )
    return sentence[0].upper() + sentence[1:]
