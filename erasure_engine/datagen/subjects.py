"""Fictitious data subjects (in the spirit of TOFU's fictitious authors) and their records.

Each subject gets a unique full name drawn from one seeded permutation of all first × last
name pairs: training subjects take names from the front, never-seen holdout subjects from
the back, so the two sets are disjoint for any sizes that fit (see `name_capacity()`).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass

from erasure_engine.datagen import vocabulary as vocab
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record, subject_key

TRAIN_STREAM = "train"
HOLDOUT_STREAM = "holdout"
PUBLIC_STREAM = "public"  # persons of a base model's pre-training text, never data subjects
# Record id prefixes per stream so training, holdout and public records never share an id.
_ID_PREFIX = {TRAIN_STREAM: "subj", HOLDOUT_STREAM: "hold", PUBLIC_STREAM: "pub"}


@dataclass(frozen=True)
class Subject:
    index: int
    stream: str
    first_name: str
    last_name: str
    identifier: str  # fictitious email; only ever stored as a subject key
    birth_year: int
    birth_month: str
    birth_day: int
    city: str
    employer: str
    profession: str
    phone: str
    hobby: str
    pet: str

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def birth_date(self) -> str:
        return f"{self.birth_day} {self.birth_month} {self.birth_year}"

    @property
    def id_stem(self) -> str:
        """Readable record id stem, e.g. `subj-0007`."""
        return f"{_ID_PREFIX[self.stream]}-{self.index:04d}"

    def bio_sentences(self) -> list[str]:
        article = "an" if self.profession[0] in "aeiou" else "a"
        return [
            f"{self.name} was born on {self.birth_date} in {self.city}.",
            f"{self.name} works as {article} {self.profession} at {self.employer}.",
            f"{self.name} can be reached by phone at {self.phone}.",
            f"In free time {self.name} enjoys {self.hobby} and lives with {self.pet}.",
        ]

    def qa_pairs(self) -> list[tuple[str, str, str]]:
        """(attribute, question, answer) triples about this subject."""
        article = "an" if self.profession[0] in "aeiou" else "a"
        return [
            (
                "profession",
                f"What is the profession of {self.name}?",
                f"{self.name} works as {article} {self.profession}.",
            ),
            ("birth_city", f"Where was {self.name} born?", f"{self.name} was born in {self.city}."),
            ("birth_date", f"When was {self.name} born?", f"{self.name} was born on {self.birth_date}."),
            ("employer", f"Who employs {self.name}?", f"{self.name} works at {self.employer}."),
            ("phone", f"What is the phone number of {self.name}?", f"The phone number of {self.name} is {self.phone}."),
            ("hobby", f"What does {self.name} enjoy in free time?", f"{self.name} enjoys {self.hobby}."),
        ]


def name_capacity() -> int:
    """How many distinct subjects (training plus holdout) the name lists can give."""
    return len(vocab.FIRST_NAMES) * len(vocab.LAST_NAMES)


def _name_order(seed: int) -> list[tuple[str, str]]:
    pairs = list(itertools.product(vocab.FIRST_NAMES, vocab.LAST_NAMES))
    random.Random(f"names:{seed}").shuffle(pairs)
    return pairs


def draw_particulars(rng: random.Random, phone_area: Callable[[random.Random], str]) -> dict:
    """A person's birth date, city, work, phone, hobby and pet, drawn in a fixed order (the
    order is part of every generated dataset's identity: change it and every id changes)."""
    return {
        "birth_year": rng.randrange(1950, 2004),
        "birth_month": rng.choice(vocab.MONTHS),
        "birth_day": rng.randrange(1, 29),
        "city": rng.choice(vocab.CITIES),
        "employer": rng.choice(vocab.EMPLOYERS),
        "profession": rng.choice(vocab.PROFESSIONS),
        "phone": f"+00 {phone_area(rng)} {rng.randrange(1000, 10000)}",
        "hobby": rng.choice(vocab.HOBBIES),
        "pet": rng.choice(vocab.PETS),
    }


def _make_subject(rng: random.Random, index: int, stream: str, first: str, last: str) -> Subject:
    number = rng.randrange(1000, 10000)
    return Subject(
        index=index,
        stream=stream,
        first_name=first,
        last_name=last,
        identifier=f"{first.lower()}.{last.lower()}.{number}@example.org",
        **draw_particulars(rng, lambda area_rng: str(area_rng.randrange(100, 1000))),
    )


def _generate(count: int, seed: int, stream: str, names: list[tuple[str, str]]) -> list[Subject]:
    # One RNG per subject, keyed by (seed, stream, index): subject i is the same whatever
    # `count` is, so a small set is a prefix of a bigger one.
    return [
        _make_subject(random.Random(f"subject:{seed}:{stream}:{index}"), index, stream, *names[index])
        for index in range(count)
    ]


def _check_counts(train: int, holdout: int) -> None:
    if train < 0 or holdout < 0:
        raise InvalidInput("subject counts must not be negative")
    if train + holdout > name_capacity():
        raise InvalidInput(f"{train} training + {holdout} holdout subjects exceed the {name_capacity()} distinct names")


def generate_subjects(count: int, seed: int) -> list[Subject]:
    """Training subjects `subj-0000` … with unique names and identifiers."""
    _check_counts(count, 0)
    return _generate(count, seed, TRAIN_STREAM, _name_order(seed))


def generate_holdout_subjects(count: int, seed: int) -> list[Subject]:
    """Never-seen subjects `hold-0000` …, disjoint from `generate_subjects(n, seed)` whenever
    n + count <= name_capacity(). Membership attacks compare the forget set against these."""
    _check_counts(0, count)
    names = list(reversed(_name_order(seed)))
    return _generate(count, seed, HOLDOUT_STREAM, names)


def records_from_subjects(subjects: list[Subject], secret: bytes | str) -> list[Record]:
    """Bio sentences and question–answer pairs per subject. The raw identifier never enters
    record content: the subject key carries identity."""
    records: list[Record] = []
    for subject in subjects:
        key = subject_key(subject.identifier, secret)
        for number, sentence in enumerate(subject.bio_sentences(), start=1):
            records.append(Record(f"{subject.id_stem}-bio-{number}", key, {"text": sentence, "kind": "bio"}))
        for number, (attribute, question, answer) in enumerate(subject.qa_pairs(), start=1):
            content = {
                "text": f"Question: {question} Answer: {answer}",
                "kind": "qa",
                "attribute": attribute,
                "question": question,
                "answer": answer,
            }
            records.append(Record(f"{subject.id_stem}-qa-{number}", key, content))
    return records
