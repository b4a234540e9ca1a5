"""The fictitious data generator: deterministic, disjoint holdout, no raw identifiers."""

from __future__ import annotations

import random

import pytest

from erasure_engine.datagen import (
    NO_SUBJECT_KEY,
    SIZE_PRESETS,
    build_corpus,
    generate_general_text,
    generate_holdout_subjects,
    generate_subjects,
    generate_tabular,
    name_capacity,
    records_from_subjects,
)
from erasure_engine.errors import InvalidInput
from erasure_engine.records import subject_key

SECRET = "test-secret"


def test_same_seed_same_data_and_global_rng_untouched():
    random.seed(123)
    before = random.random()
    random.seed(123)
    first = build_corpus("tiny", seed=7, secret=SECRET)
    after = random.random()
    second = build_corpus("tiny", seed=7, secret=SECRET)
    assert before == after  # the generator never draws from the global RNG
    assert first == second
    assert [r.content_hash for r in first.records] == [r.content_hash for r in second.records]


def test_different_seed_different_subjects():
    assert generate_subjects(10, seed=1) != generate_subjects(10, seed=2)


def test_smaller_set_is_prefix_of_bigger_one():
    assert generate_subjects(5, seed=3) == generate_subjects(20, seed=3)[:5]


def test_subjects_unique_names_and_identifiers():
    subjects = generate_subjects(SIZE_PRESETS["reference"].subjects, seed=0)
    assert len({s.name for s in subjects}) == len(subjects)
    assert len({s.identifier for s in subjects}) == len(subjects)
    assert all(s.identifier.endswith("@example.org") for s in subjects)


def test_holdout_is_disjoint_from_training_subjects():
    preset = SIZE_PRESETS["reference"]
    train = generate_subjects(preset.subjects, seed=5)
    holdout = generate_holdout_subjects(preset.holdout_subjects, seed=5)
    assert not {s.name for s in train} & {s.name for s in holdout}
    assert not {s.identifier for s in train} & {s.identifier for s in holdout}
    train_ids = {r.record_id for r in records_from_subjects(train[:20], SECRET)}
    holdout_ids = {r.record_id for r in records_from_subjects(holdout[:20], SECRET)}
    assert not train_ids & holdout_ids


def test_too_many_subjects_rejected():
    with pytest.raises(InvalidInput):
        generate_subjects(name_capacity() + 1, seed=0)


def test_records_carry_subject_key_and_never_the_identifier():
    subjects = generate_subjects(20, seed=11)
    records = records_from_subjects(subjects, SECRET)
    by_key = {}
    for record in records:
        by_key.setdefault(record.subject_key, []).append(record)
    assert len(by_key) == 20
    for subject in subjects:
        mine = by_key[subject_key(subject.identifier, SECRET)]
        kinds = [r.content["kind"] for r in mine]
        assert kinds.count("bio") >= 3 and kinds.count("qa") >= 5
        for record in mine:
            assert subject.identifier not in record.content["text"]
            assert subject.identifier.split("@")[0] not in str(record.content)
            assert subject.name in record.content["text"]  # the personal data to forget
            assert record.record_id.startswith(f"subj-{subject.index:04d}-")


def test_qa_records_have_question_answer_and_text():
    subject = generate_subjects(1, seed=2)[0]
    qa = [r for r in records_from_subjects([subject], SECRET) if r.content["kind"] == "qa"]
    profession = next(r for r in qa if r.content["attribute"] == "profession")
    assert profession.record_id == "subj-0000-qa-1"
    assert profession.content["question"] == f"What is the profession of {subject.name}?"
    assert subject.profession in profession.content["answer"]
    assert profession.content["text"] == (
        f"Question: {profession.content['question']} Answer: {profession.content['answer']}"
    )


def test_facts_are_specific_enough_to_memorise():
    # Each subject's full fact tuple is unique, so the name determines the answers.
    subjects = generate_subjects(SIZE_PRESETS["reference"].subjects, seed=0)
    facts = {(s.birth_date, s.city, s.employer, s.profession, s.phone) for s in subjects}
    assert len(facts) == len(subjects)


def test_general_text_has_no_subject_and_no_names():
    records = generate_general_text(50, seed=1)
    assert records == generate_general_text(50, seed=1)
    assert len({r.record_id for r in records}) == 50
    names = {s.last_name for s in generate_subjects(50, seed=1)}
    for record in records:
        assert record.subject_key == NO_SUBJECT_KEY
        assert record.content["kind"] == "general"
        assert not any(name in record.content["text"] for name in names)


def test_vocabulary_stays_moderate():
    corpus = build_corpus("small", seed=0, secret=SECRET)
    words = set()
    for record in corpus.records + corpus.general_records:
        words.update(w for w in record.content["text"].split() if not any(c.isdigit() for c in w))
    assert len(words) < 1500


def test_tabular_is_deterministic_and_learnable():
    subjects = generate_subjects(60, seed=4)
    records = generate_tabular(subjects, SECRET, seed=4, records_per_subject=4, features=6, classes=3)
    assert records == generate_tabular(subjects, SECRET, seed=4, records_per_subject=4, features=6, classes=3)
    assert len(records) == 240
    assert records[0].record_id == "subj-0000-tab-1"
    assert records[0].subject_key == subject_key(subjects[0].identifier, SECRET)
    assert all(len(r.content["features"]) == 6 and r.content["label"] in (0, 1, 2) for r in records)
    # Nearest class mean (fitted on half, tested on the other half) beats chance by far.
    train, test = records[::2], records[1::2]
    means = {}
    for label in range(3):
        rows = [r.content["features"] for r in train if r.content["label"] == label]
        means[label] = [sum(col) / len(rows) for col in zip(*rows)]

    def predict(row):
        return min(means, key=lambda lab: sum((a - b) ** 2 for a, b in zip(row, means[lab])))

    accuracy = sum(predict(r.content["features"]) == r.content["label"] for r in test) / len(test)
    assert accuracy > 0.8


def test_unknown_preset_rejected():
    with pytest.raises(InvalidInput, match="unknown size preset"):
        build_corpus("huge", seed=0, secret=SECRET)
