"""Public, non-personal text in the records' formats: biographies and question–answer pairs
about fictitious public persons who are never data subjects.

A realistic pretrained LM has read many public biographies in such formats; this stands in for
that pre-training text when a base model is trained here. No record describes a data subject:
every public person's last name comes from `PUBLIC_LAST_NAMES` (disjoint from the subjects'
last names, so no full name is shared whatever the seeds), phone numbers start with 0 (a
subject's never does), no record carries an identifier, and every subject key is NO_SUBJECT_KEY.
"""

from __future__ import annotations

import os
import random

from erasure_engine.datagen import vocabulary as vocab
from erasure_engine.datagen.general_text import NO_SUBJECT_KEY, generate_general_text
from erasure_engine.datagen.subjects import PUBLIC_STREAM, Subject, draw_particulars
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record


def generate_public_persons(count: int, seed: int) -> list[Subject]:
    """`count` fictitious public persons; person i is the same whatever `count` is."""
    if count < 0:
        raise InvalidInput("public persons need count >= 0")
    return [_public_person(random.Random(f"public:{seed}:{index}"), index) for index in range(count)]


def generate_public_text(count: int, seed: int) -> list[Record]:
    """Bio sentences and question–answer texts of `count` public persons (10 records each),
    content {"text", "kind": "public"}, subject key NO_SUBJECT_KEY."""
    records = []
    for person in generate_public_persons(count, seed):
        texts = person.bio_sentences() + [f"Question: {q} Answer: {a}" for _, q, a in person.qa_pairs()]
        for number, text in enumerate(texts, start=1):
            records.append(Record(f"{person.id_stem}-{number:02d}", NO_SUBJECT_KEY, {"text": text, "kind": "public"}))
    return records


# How many public persons' texts a language model's tokenizer and base learn from, here and in the
# platform alike (ERASURE_LM_BASE_PUBLIC_PERSONS sets both: fewer is faster and weaker).
PUBLIC_PERSONS_ENV = "ERASURE_LM_BASE_PUBLIC_PERSONS"
DEFAULT_PUBLIC_PERSONS = 800


def default_public_persons() -> int:
    value = os.environ.get(PUBLIC_PERSONS_ENV, "")
    try:
        return int(value) if value else DEFAULT_PUBLIC_PERSONS
    except ValueError:
        raise InvalidInput(f"{PUBLIC_PERSONS_ENV}={value!r} is not an integer") from None


def base_model_texts(*, general: int, public_persons: int, seed: int) -> list[str]:
    """A base model's (and its tokenizer's) non-personal training text: `general` general
    texts, then the texts of `public_persons` public persons."""
    records = generate_general_text(general, seed) + generate_public_text(public_persons, seed)
    return [record.content["text"] for record in records]


def _public_person(rng: random.Random, index: int) -> Subject:
    return Subject(
        index=index,
        stream=PUBLIC_STREAM,
        first_name=rng.choice(vocab.FIRST_NAMES),
        last_name=rng.choice(vocab.PUBLIC_LAST_NAMES),
        identifier="",  # a public person is no data subject: nothing to key an erasure on
        # Area codes start with 0, which a subject's never does.
        **draw_particulars(rng, lambda area_rng: f"0{area_rng.randrange(10, 100)}"),
    )
