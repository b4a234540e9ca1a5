"""The lineage index keeps record intervals: an erasure writes rows for the erased records only,
a new version writes only what changed, and lookups still name every version holding a subject."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.db import connection, transaction

from erasure_engine.datagen import generate_subjects, generate_tabular
from erasure_engine.records import subject_key
from erasure_platform.registry import selectors
from erasure_platform.registry.models import DatasetVersion, SubjectRecord
from erasure_platform.registry.services.datasets import (
    dataset_records_of_subject,
    dataset_register,
    dataset_version_create,
    dataset_version_erase,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    people = generate_subjects(8, 3)
    records = generate_tabular(people, settings.SUBJECT_KEY_SECRET, seed=3, records_per_subject=3)
    dataset = dataset_register(name=f"lineage-{uuid.uuid4().hex[:8]}", actor="test")  # the store outlives tests
    first = dataset_version_create(dataset=dataset, records=records, shards=2, slices=2, seed=3, actor="test")
    keys = [subject_key(person.identifier, settings.SUBJECT_KEY_SECRET) for person in people]
    return dataset, first, records, keys


def held_by(key):
    return [
        (entry["dataset_version"].version_id, len(entry["record_ids"]), len(entry["erased_record_ids"]))
        for entry in selectors.lineage_for_subject(subject_key=key).dataset_versions
    ]


def test_an_erasure_writes_index_rows_for_the_erased_records_only(history):
    dataset, first, records, keys = history
    assert SubjectRecord.objects.count() == len(records) == 24
    dataset_version_erase(version=first, subject_keys=[keys[0]], record_ids=None, request_id="r-0", actor="test")
    second = dataset.versions.get(version_id="v0002")
    assert SubjectRecord.objects.count() == 24  # nothing new: three intervals were closed
    assert SubjectRecord.objects.filter(valid_until=second, erased_in=second).count() == 3
    dataset_version_erase(version=second, subject_keys=[keys[1]], record_ids=None, request_id="r-1", actor="test")
    third = dataset.versions.get(version_id="v0003")
    assert SubjectRecord.objects.count() == 24

    assert held_by(keys[0]) == [("v0001", 0, 3)]  # erased: the old version only, flagged
    assert held_by(keys[1]) == [("v0001", 0, 3), ("v0002", 0, 3)]
    assert held_by(keys[2]) == [("v0001", 3, 0), ("v0002", 3, 0), ("v0003", 3, 0)]
    assert selectors.current_versions_holding(subject_keys=[keys[2]]) == [third]
    assert selectors.current_versions_holding(subject_keys=[keys[0]]) == []
    # The forget set of a version is read through the intervals too.
    assert {
        r.record_id for r in dataset_records_of_subject(version=third, subject_keys=[keys[2]], record_ids=None)
    } == {r.record_id for r in records if r.subject_key == keys[2]}


def test_a_new_version_writes_only_what_changed(history):
    dataset, first, records, keys = history
    dropped = [r for r in records if r.subject_key == keys[0]]
    kept = [r for r in records if r.subject_key != keys[0]]
    second = dataset_version_create(dataset=dataset, records=kept, shards=2, slices=2, seed=3, actor="test")
    # Same seed and layout: the kept records are unchanged, the dropped ones' intervals end.
    rows_now = SubjectRecord.objects.count()
    assert rows_now == 24 + sum(1 for r in SubjectRecord.objects.filter(valid_from=second))
    closed = SubjectRecord.objects.filter(valid_until=second)
    assert {row.record_id for row in closed} >= {r.record_id for r in dropped}
    assert not closed.filter(erased_in__isnull=False).exists()  # replaced, not erased
    assert held_by(keys[0]) == [("v0001", 3, 0)]
    assert [version for version, *_ in held_by(keys[3])] == ["v0001", "v0002"]


def test_a_lookup_costs_the_same_few_queries_however_long_the_history(history, django_assert_max_num_queries):
    """Rows, datasets with their version stamp, versions (each once, however many versions),
    model versions; once the process holds the tree, the versions query goes."""
    dataset, first, records, keys = history
    version = first
    for number in range(3):
        dataset_version_erase(
            version=version, subject_keys=[keys[number]], record_ids=None, request_id="r", actor="test"
        )
        version = dataset.versions.get(version_id=f"v{number + 2:04d}")
    with django_assert_max_num_queries(4):
        lineage = selectors.lineage_for_subject(subject_key=keys[5])
    assert [entry["dataset_version"].version_id for entry in lineage.dataset_versions] == [
        "v0001",
        "v0002",
        "v0003",
        "v0004",
    ]
    assert str(lineage.dataset_versions[-1]["dataset_version"]) == f"{dataset.name}@v0004"  # no query per version
    with django_assert_max_num_queries(3):
        assert len(selectors.lineage_for_subject(subject_key=keys[6]).dataset_versions) == 4
    with django_assert_max_num_queries(1):  # a subject the index does not know: its (empty) rows only
        assert selectors.lineage_for_subject(subject_key="0" * 64).dataset_versions == []


def test_the_version_tree_a_process_keeps_follows_new_versions_purges_and_rollbacks(history):
    """The per-process tree is revalidated at every lookup: a version made (even one rolled back
    afterwards) or purged since the last lookup is seen by the next one."""
    _, first, _, keys = history
    assert held_by(keys[4]) == [("v0001", 3, 0)]  # the tree is now held
    with transaction.atomic():
        dataset_version_erase(version=first, subject_keys=[keys[0]], record_ids=None, request_id="r", actor="test")
        assert held_by(keys[4]) == [("v0001", 3, 0), ("v0002", 3, 0)]
        transaction.set_rollback(True)
    assert held_by(keys[4]) == [("v0001", 3, 0)]
    entry = selectors.lineage_for_subject(subject_key=keys[4]).dataset_versions[0]
    assert entry["holds_data"]
    DatasetVersion.objects.filter(pk=first.pk).update(purged=True)
    entry = selectors.lineage_for_subject(subject_key=keys[4]).dataset_versions[0]
    assert entry["dataset_version"].purged and not entry["holds_data"]


def test_a_subjects_rows_are_read_from_the_covering_index_alone(history):
    """The lookup selects only columns the index holds: PostgreSQL can answer it with an
    index-only scan (no heap page per row), which is what keeps lookups flat at 1M+ rows."""
    _, _, _, keys = history
    sql, params = selectors.subject_index_rows(keys[0]).query.sql_with_params()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(line for (line,) in cursor.fetchall())
    assert "Index Only Scan using registry_subject_rows_cover" in plan, plan
