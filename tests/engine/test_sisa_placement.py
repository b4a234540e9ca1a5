"""Balanced, deterministic placement: whole subjects, shards even by record count, a subject's
place never changes once recorded (later versions reuse it), input order irrelevant."""

from __future__ import annotations

import random

import pytest

from erasure_engine.datagen import build_corpus
from erasure_engine.datasets import DatasetStore, assign_places, placement
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record
from erasure_engine.sisa.data import InMemoryDataset
from erasure_engine.storage import LocalObjectStore

CORPUS = build_corpus("small", seed=3, secret="placement-secret")


def _shard_sizes(places: dict, shards: int) -> list[int]:
    sizes = [0] * shards
    for shard, _ in places.values():
        sizes[shard] += 1
    return sizes


def test_subjects_stay_whole_and_shards_are_balanced_where_hashing_is_not():
    records = CORPUS.records
    places = assign_places(records, seed=0, shards=8, slices=3)
    by_subject: dict[str, set] = {}
    for record in records:
        by_subject.setdefault(record.subject_key, set()).add(places[record.record_id])
    assert all(len(cells) == 1 for cells in by_subject.values())
    largest_subject = max(sum(1 for r in records if r.subject_key == key) for key in by_subject)
    balanced = _shard_sizes(places, 8)
    assert max(balanced) - min(balanced) <= largest_subject
    hashed = _shard_sizes(
        {r.record_id: placement(r.record_id, seed=0, shards=8, slices=3, subject_key=r.subject_key) for r in records}, 8
    )
    assert max(hashed) - min(hashed) > max(balanced) - min(balanced)


def test_placement_ignores_input_order_and_depends_on_the_seed():
    records = CORPUS.records[:300]
    shuffled = list(records)
    random.Random(1).shuffle(shuffled)
    assert assign_places(records, seed=4, shards=4, slices=2) == assign_places(shuffled, seed=4, shards=4, slices=2)
    assert assign_places(records, seed=4, shards=4, slices=2) != assign_places(records, seed=5, shards=4, slices=2)


def test_a_placed_subject_never_moves_when_others_come_and_go(tmp_path):
    datasets = DatasetStore(LocalObjectStore(tmp_path), "people")
    subjects = sorted({r.subject_key for r in CORPUS.records})
    first_half = [r for r in CORPUS.records if r.subject_key in set(subjects[: len(subjects) // 2])]
    v1 = datasets.create_version(first_half, shards=4, slices=2, seed=0)
    # v2: a third of the first subjects gone, every other subject new.
    kept = [r for r in first_half if r.subject_key not in set(subjects[: len(subjects) // 6])]
    newcomers = [r for r in CORPUS.records if r.subject_key in set(subjects[len(subjects) // 2 :])]
    v2 = datasets.create_version(kept + newcomers, shards=4, slices=2, seed=0, parent_id=v1.version_id)
    assert v2.manifest["placement"] == {"scheme": "balanced-v1", "reused_from": v1.version_id}
    assert all(v2.shard_slice_of(r.record_id) == v1.shard_slice_of(r.record_id) for r in kept)
    # Without the parent, balancing the new set from scratch would have moved some of them.
    fresh = assign_places(kept + newcomers, seed=0, shards=4, slices=2)
    assert any(fresh[r.record_id] != v1.shard_slice_of(r.record_id) for r in kept)
    # The newcomers fill the shards the removals emptied: still balanced overall.
    sizes = [sum(len(v2.records_in(s, j)) for j in range(2)) for s in range(4)]
    assert max(sizes) - min(sizes) <= 2 * max(
        1, max(sum(1 for r in CORPUS.records if r.subject_key == k) for k in subjects)
    )


def test_in_memory_removal_keeps_every_other_place():
    dataset = InMemoryDataset(CORPUS.records[:200], shards=4, slices=3)
    gone = {r.subject_key for r in CORPUS.records[:40]}
    after = dataset.without([r.record_id for r in dataset.records() if r.subject_key in gone])
    for record in after.records():
        assert after.shard_slice_of(record.record_id) == dataset.shard_slice_of(record.record_id)


def test_records_about_nobody_are_placed_one_by_one_and_bad_places_are_refused():
    records = [Record(f"gen-{i}", "", {"text": "x"}) for i in range(10)]
    assert _shard_sizes(assign_places(records, seed=0, shards=5, slices=1), 5) == [2, 2, 2, 2, 2]
    with pytest.raises(InvalidInput, match="outside"):
        assign_places(records, seed=0, shards=2, slices=1, previous_places={"gen-1": (3, 0)})
    with pytest.raises(InvalidInput, match="positive"):
        assign_places(records, seed=0, shards=0, slices=1)
