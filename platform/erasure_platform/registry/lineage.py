"""Which dataset versions an interval row of the lineage index covers.

A row (registry.models.SubjectRecord) covers version V of its dataset when its valid_from is V or
an ancestor of V, and its valid_until (if any) is neither: the subtree below valid_from, cut at
valid_until. Datasets have a short history (tens to hundreds of versions), so it is read whole;
the rows are those of one subject.

Each process keeps the version tree of the datasets it has read (`_trees`): building a hundred
version objects per lookup was most of a lookup's time. A tree is reused only while its dataset's
stamp (version count, newest id and creation time, purged count) is unchanged, checked by one
aggregate query per lookup, so a new version, a purge, or a rolled-back transaction that made one
is seen at once. Datasets and versions are immutable once written except for `purged`, which only
ever turns true; the cached instances are shared and must be treated as read-only."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection

from erasure_platform.registry.models import DatasetVersion

# Raw SQL: the ORM took longer to compile this aggregate than PostgreSQL to run it, on every lookup.
_STAMPS_SQL = (
    "SELECT dataset_id, count(*), max(id), max(created_at), sum(CASE WHEN purged THEN 1 ELSE 0 END)"
    f" FROM {DatasetVersion._meta.db_table} WHERE dataset_id IN ({{}}) GROUP BY dataset_id"
)


@dataclass
class _DatasetTree:
    stamp: tuple
    versions: dict[int, DatasetVersion]
    children: dict[int | None, list[int]]
    # Versions covered per (valid_from, valid_until): rows filed and erased together share one.
    covered: dict[tuple[int, int | None], list[int]] = field(default_factory=dict)

    def covered_by(self, valid_from: int, valid_until: int | None) -> list[int]:
        interval = (valid_from, valid_until)
        covered = self.covered.get(interval)
        if covered is None:
            covered = self.covered[interval] = self._walk(valid_from, valid_until)
        return covered

    def _walk(self, valid_from: int, valid_until: int | None) -> list[int]:
        if valid_from not in self.versions:
            return []
        covered, pending = [], [valid_from]
        while pending:
            pk = pending.pop()
            if pk == valid_until:
                continue
            covered.append(pk)
            pending.extend(self.children.get(pk, ()))
        return covered


_trees: dict[int, _DatasetTree] = {}


def _current_trees(dataset_ids: set[int]) -> dict[int, _DatasetTree]:
    with connection.cursor() as cursor:
        cursor.execute(_STAMPS_SQL.format(", ".join(["%s"] * len(dataset_ids))), sorted(dataset_ids))
        stamps = {dataset_id: tuple(stamp) for dataset_id, *stamp in cursor.fetchall()}
    stale = [pk for pk, stamp in stamps.items() if getattr(_trees.get(pk), "stamp", None) != stamp]
    if stale:
        fresh = {pk: _DatasetTree(stamps[pk], {}, {}) for pk in stale}
        # Not the erasure payload (a list of every removed record): lookups never read it.
        versions = DatasetVersion.objects.filter(dataset_id__in=stale).select_related("dataset").defer("erasure")
        for version in versions.order_by("id"):
            tree = fresh[version.dataset_id]
            tree.versions[version.pk] = version
            tree.children.setdefault(version.parent_id, []).append(version.pk)
        _trees.update(fresh)
    return {pk: _trees[pk] for pk in stamps}


class VersionHistory:
    """The versions of some datasets, as a tree (each version's children)."""

    def __init__(self, dataset_ids: Iterable[int]):
        dataset_ids = set(dataset_ids)
        self.versions: dict[int, DatasetVersion] = {}
        self._trees: dict[int, _DatasetTree] = {}
        if not dataset_ids:  # a subject the index does not know: no query
            return
        self._trees = _current_trees(dataset_ids)
        for tree in self._trees.values():
            self.versions.update(tree.versions)

    @property
    def dataset_ids(self) -> list[int]:
        return list(self._trees)

    def covered_by(self, row) -> list[int]:
        """The versions holding the row's record: valid_from and its descendants, down to (not
        into) valid_until; one walk of the tree per distinct interval and process."""
        tree = self._trees.get(row.dataset_id)
        return tree.covered_by(row.valid_from_id, row.valid_until_id) if tree else []


def rows_by_version(rows: Iterable) -> tuple[VersionHistory, dict[int, list]]:
    """Index rows grouped by each dataset version they cover."""
    rows = list(rows)
    history = VersionHistory(row.dataset_id for row in rows)
    grouped: dict[int, list] = {}
    for row in rows:
        for pk in history.covered_by(row):
            grouped.setdefault(pk, []).append(row)
    return history, grouped
