"""The migration that turns per-version index rows into intervals keeps what lineage answers."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("registry", "0001_initial")]
AFTER = [("registry", "0004_lineage_intervals")]


@pytest.mark.django_db(transaction=True)
def test_per_version_rows_fold_into_intervals():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        check_the_fold(executor)
    finally:
        # Every later test expects the whole schema: migrate every app forward again.
        MigrationExecutor(connection).migrate(latest)


def check_the_fold(executor: MigrationExecutor) -> None:
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Dataset, Version, Row = (old.get_model("registry", name) for name in ("Dataset", "DatasetVersion", "SubjectRecord"))
    dataset = Dataset.objects.create(name="fold", created_by="t")
    v1 = Version.objects.create(
        dataset=dataset, version_id="v0001", manifest_sha256="0" * 64, object_url="x", created_by="t"
    )
    v2 = Version.objects.create(
        dataset=dataset, version_id="v0002", manifest_sha256="0" * 64, object_url="x", created_by="t", parent=v1
    )
    v3 = Version.objects.create(
        dataset=dataset, version_id="v0003", manifest_sha256="0" * 64, object_url="x", created_by="t", parent=v2
    )

    def row(version, record_id, key, content="c", erased_in=None):
        Row.objects.create(
            dataset_version=version, record_id=record_id, subject_key=key, content_hash=content, erased_in=erased_in
        )

    for version in (v1, v2, v3):
        row(version, "kept", "a")  # in every version: one interval
    row(v1, "erased", "b", erased_in=v2)  # erased by v2
    row(v1, "changed", "c", content="old")
    row(v2, "changed", "c", content="new")  # replaced in v2
    row(v3, "changed", "c", content="new")

    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps
    Row = new.get_model("registry", "SubjectRecord")
    intervals = {
        (r.record_id, r.content_hash, r.valid_from_id, r.valid_until_id, r.erased_in_id) for r in Row.objects.all()
    }
    assert intervals == {
        ("kept", "c", v1.pk, None, None),
        ("erased", "c", v1.pk, v2.pk, v2.pk),
        ("changed", "old", v1.pk, v2.pk, None),
        ("changed", "new", v2.pk, None, None),
    }
