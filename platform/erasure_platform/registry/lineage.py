"""Which dataset versions an interval row of the lineage index covers.

A row (registry.models.SubjectRecord) covers version V of its dataset when its valid_from is V or
an ancestor of V, and its valid_until (if any) is neither: the subtree below valid_from, cut at
valid_until. Datasets have a short history (tens to
hundreds of versions), so it is read whole; the rows are those of one subject."""

from __future__ import annotations

from collections.abc import Iterable

from erasure_platform.registry.models import Dataset, DatasetVersion


class VersionHistory:
    """The versions of some datasets, as a tree (each version's children)."""

    def __init__(self, dataset_ids: Iterable[int]):
        dataset_ids = set(dataset_ids)
        self.children: dict[int | None, list[int]] = {}
        self._covered: dict[tuple[int, int | None], list[int]] = {}
        self.versions: dict[int, DatasetVersion] = {}
        if not dataset_ids:  # a subject the index does not know: no query
            return
        # Each dataset instantiated once (a join would build one per version); not the erasure
        # payload (a list of every removed record): lookups never read it.
        datasets = {d.pk: d for d in Dataset.objects.filter(pk__in=dataset_ids)}
        self.versions = {
            v.pk: v for v in DatasetVersion.objects.filter(dataset_id__in=dataset_ids).defer("erasure").order_by("id")
        }
        for pk, version in self.versions.items():
            version.dataset = datasets[version.dataset_id]
            self.children.setdefault(version.parent_id, []).append(pk)

    def covered_by(self, row) -> list[int]:
        """The versions holding the row's record: valid_from and its descendants, down to (not
        into) valid_until. One walk down the tree, O(versions), per distinct interval: a subject's
        records mostly share one (filed together, erased together)."""
        interval = (row.valid_from_id, row.valid_until_id)
        covered = self._covered.get(interval)
        if covered is None:
            covered = self._covered[interval] = self._walk(*interval)
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


def rows_by_version(rows: Iterable) -> tuple[VersionHistory, dict[int, list]]:
    """Index rows grouped by each dataset version they cover."""
    rows = list(rows)
    history = VersionHistory(row.dataset_id for row in rows)
    grouped: dict[int, list] = {}
    for row in rows:
        for pk in history.covered_by(row):
            grouped.setdefault(pk, []).append(row)
    return history, grouped
