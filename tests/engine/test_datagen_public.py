"""Public (non-personal) text for a base model: the records' formats, never a data subject."""

from __future__ import annotations

import random

import pytest

from erasure_engine.datagen import (
    NO_SUBJECT_KEY,
    base_model_texts,
    build_corpus,
    generate_general_text,
    generate_public_persons,
    generate_public_text,
)
from erasure_engine.errors import InvalidInput

SECRET = "test-secret"


def test_same_seed_same_text_and_global_rng_untouched():
    random.seed(5)
    before = random.random()
    random.seed(5)
    first = generate_public_text(30, seed=3)
    after = random.random()
    assert before == after  # the generator never draws from the global RNG
    assert first == generate_public_text(30, seed=3)
    assert first != generate_public_text(30, seed=4)
    assert generate_public_text(5, seed=3) == first[:50]  # person i does not depend on the count


def test_no_record_describes_or_keys_a_data_subject():
    """Whatever the seeds, no public person shares a subject's (training or holdout) full name
    or phone number, and no record carries a subject key, so the base never sees a subject."""
    for seed in (0, 1, 7):
        corpus = build_corpus("small", seed=seed, secret=SECRET)
        subjects = corpus.subjects + corpus.holdout_subjects
        persons = generate_public_persons(400, seed)
        records = generate_public_text(400, seed)
        assert {record.subject_key for record in records} == {NO_SUBJECT_KEY}
        assert not {person.name for person in persons} & {subject.name for subject in subjects}
        assert not {person.last_name for person in persons} & {subject.last_name for subject in subjects}
        assert not {person.phone for person in persons} & {subject.phone for subject in subjects}
        text = " ".join(record.content["text"] for record in records)
        assert not any(subject.name in text or subject.phone in text for subject in subjects)
        subject_ids = {record.record_id for record in corpus.records + corpus.holdout_records}
        assert not subject_ids & {record.record_id for record in records}


def test_public_text_is_in_the_records_formats():
    corpus = build_corpus("tiny", seed=2, secret=SECRET)
    person = generate_public_persons(1, seed=2)[0]
    records = generate_public_text(1, seed=2)
    assert len(records) == 10 and {record.content["kind"] for record in records} == {"public"}
    assert records[0].content["text"] == f"{person.name} was born on {person.birth_date} in {person.city}."
    assert records[4].content["text"] == (
        f"Question: What is the profession of {person.name}? Answer: {person.name} works as "
        f"{'an' if person.profession[0] in 'aeiou' else 'a'} {person.profession}."
    )
    # The same templates as the subjects' records, with the name swapped: a format, not a person.
    subject = corpus.subjects[0]
    subject_texts = [record.content["text"].replace(subject.name, "NAME") for record in corpus.records[:10]]
    assert records[4].content["text"].replace(person.name, "NAME").split("?")[0] == subject_texts[4].split("?")[0]


def test_negative_count_rejected():
    with pytest.raises(InvalidInput):
        generate_public_text(-1, seed=0)


def test_base_model_texts_are_general_then_public_text():
    texts = base_model_texts(general=4, public_persons=2, seed=9)
    assert texts[:4] == [record.content["text"] for record in generate_general_text(4, seed=9)]
    assert texts[4:] == [record.content["text"] for record in generate_public_text(2, seed=9)]
