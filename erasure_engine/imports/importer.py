"""Import a team's rows into a new dataset version: all or nothing.

Every row is mapped (see `mapping`) before anything is written. A refused row — no identifier,
a duplicate record id (the later occurrence is the one at fault), an empty text, a wrong-typed
value — refuses the whole import and no version is written, unless `skip_invalid` leaves those
rows out; the report names the first rows at fault (file, 1-based data row, column, why) and
counts them all. A source that cannot be read as a whole (unreachable, an unreadable file, a
missing column) is a `SourceError`, whatever `skip_invalid` says.

Into a dataset that already has versions, an import appends: the new version holds the latest
version's records plus the new ones, with the latest version's layout, so every subject already
placed keeps its shard and slice (a SISA model trained on it can be extended). A row whose record
id is already there with the same content is unchanged (running the same import twice writes no
second version); with other content it is refused.

Writing is the dataset store's: slice objects first, the manifest last, so an interrupted
import leaves no version behind and can simply be run again."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from erasure_engine.datasets import DatasetStore
from erasure_engine.errors import InvalidInput
from erasure_engine.imports.mapping import Refusal, RowFault, RowMapper
from erasure_engine.imports.sources import JSONL_BLANK, FileSource, PostgresSource, SourceError
from erasure_engine.imports.spec import DatasetSpec, SpecError
from erasure_engine.records import Record
from erasure_engine.storage import ObjectStore

REFUSALS_LISTED = 100
PREVIEW_ROWS = 20
PREVIEW_SCAN_ROWS = 10_000

Source = FileSource | PostgresSource
Progress = Callable[[int, int], None]  # (rows read, rows refused)


@dataclass
class ImportReport:
    dataset: str
    version_id: str | None  # the version the dataset now ends at; None when the import was refused
    parent_id: str | None
    records: int  # in the version the dataset now ends at
    imported: int  # new records this import added
    unchanged: int  # rows already in the parent version with the same content
    subjects: int  # distinct subjects among the imported records
    rows_read: int
    refused: list[dict] = field(default_factory=list)  # the first REFUSALS_LISTED
    refused_count: int = 0
    skip_invalid: bool = False
    source: dict = field(default_factory=dict)
    seconds: float = 0.0
    new_version: bool = False  # False when refused, or when every row was already there

    @property
    def accepted(self) -> bool:
        return self.refused_count == 0 or self.skip_invalid

    def to_json(self) -> dict:
        return {**asdict(self), "accepted": self.accepted}


class _Collector:
    """Maps rows in source order, keeping the records, the refusals and the ids seen."""

    def __init__(self, mapper: RowMapper, known: dict[str, str], *, keep: bool):
        self.mapper = mapper
        self.known = known  # record id -> content hash, in the parent version
        self.keep = keep
        self.records: list[Record] = []
        self.refusals: list[Refusal] = []
        self.refused_count = 0
        self.unchanged = 0
        self.rows_read = 0
        self.seen: set[str] = set()
        self.subjects: set[str] = set()

    def refuse(self, refusal: Refusal) -> None:
        self.refused_count += 1
        if len(self.refusals) < REFUSALS_LISTED:
            self.refusals.append(refusal)

    def add(self, location: str, row_number: int, row: dict, *, typed: bool) -> None:
        if row is JSONL_BLANK:
            return
        self.rows_read += 1
        try:
            record = self.mapper.map(row, typed=typed)
        except RowFault as fault:
            self.refuse(Refusal(location, row_number, fault.column, fault.reason))
            return
        id_column = self.mapper.spec.record_id_column
        if record.record_id in self.seen:
            self.refuse(Refusal(location, row_number, id_column, f"duplicate record id {record.record_id!r}"))
            return
        self.seen.add(record.record_id)
        known_hash = self.known.get(record.record_id)
        if known_hash is not None:
            if known_hash == record.content_hash:
                self.unchanged += 1
            else:
                self.refuse(
                    Refusal(
                        location,
                        row_number,
                        id_column,
                        f"record id {record.record_id!r} is already in the dataset with other content",
                    )
                )
            return
        self.subjects.add(record.subject_key)
        if self.keep:
            self.records.append(record)


def _collect(source: Source, spec: DatasetSpec, mapper: RowMapper, known, *, skip_invalid, progress, limit=None):
    collector = _Collector(mapper, known, keep=True)
    for batch in source.batches(spec.columns, order_by=spec.record_id_column):
        for offset, row in enumerate(batch.rows):
            collector.add(batch.location, batch.first_row + offset, row, typed=batch.typed)
            if limit is not None and collector.rows_read >= limit:
                return collector
        if collector.refused_count and not skip_invalid:
            collector.keep = False  # the import is refused: keep counting faults, not records
            collector.records.clear()
        if progress is not None:
            progress(collector.rows_read, collector.refused_count)
    return collector


def import_dataset(
    source: Source,
    spec: DatasetSpec,
    *,
    store: ObjectStore,
    dataset: str,
    secret: bytes | str,
    shards: int | None = None,
    slices: int | None = None,
    seed: int | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    started = time.monotonic()
    check_source_spec(source, spec)
    datasets = DatasetStore(store, dataset)
    versions = datasets.list_versions()
    parent = datasets.load_version(versions[-1]) if versions else None
    layout = _layout(parent, shards=shards, slices=slices, seed=seed)
    known = {} if parent is None else {e["record_id"]: e["content_hash"] for e in parent.manifest["records"]}
    collector = _collect(source, spec, RowMapper(spec, secret), known, skip_invalid=skip_invalid, progress=progress)
    report = ImportReport(
        dataset=dataset,
        version_id=None,
        parent_id=parent.version_id if parent else None,
        records=len(parent) if parent else 0,
        imported=0,
        unchanged=collector.unchanged,
        subjects=len(collector.subjects),
        rows_read=collector.rows_read,
        refused=[refusal.to_dict() for refusal in collector.refusals],
        refused_count=collector.refused_count,
        skip_invalid=skip_invalid,
        source=source.describe(),
    )
    if not report.accepted:
        report.subjects = 0
        report.records = 0
    elif collector.rows_read == 0:
        raise SourceError(f"{source.describe().get('location') or source.location} holds no rows", code="empty_source")
    elif collector.records:
        records = (parent.records() if parent else []) + collector.records
        version = datasets.create_version(
            records,
            **layout,
            parent_id=parent.version_id if parent else None,
            source={**source.describe(), "spec": spec.to_dict()},
        )
        report.version_id = version.version_id
        report.records = len(version)
        report.imported = len(collector.records)
        report.new_version = True
    else:
        report.version_id = report.parent_id  # nothing new: the dataset stays where it was
    report.seconds = round(time.monotonic() - started, 3)
    return report


def check_source_spec(source: Source, spec: DatasetSpec) -> None:
    """A PostgreSQL source is erased row by row by record id (see source_erasure): refuse a spec
    that would leave its rows unreachable before anything is read."""
    if not isinstance(source, PostgresSource):
        return
    if not spec.record_id_column:
        raise SpecError(
            "a PostgreSQL source needs record_id.column (its primary key): erasure deletes the source rows by it"
        )
    if source.query is not None and not spec.on_erase.table:
        raise SpecError("a query source needs on_erase.table (and on_erase.key_column if it differs): where to erase")


def _layout(parent, *, shards: int | None, slices: int | None, seed: int | None) -> dict:
    if parent is None:
        return {"shards": shards or 1, "slices": slices or 1, "seed": 0 if seed is None else seed}
    recorded = {"shards": parent.shards, "slices": parent.slices, "seed": parent.seed}
    asked = {"shards": shards, "slices": slices, "seed": seed}
    differ = [name for name, value in asked.items() if value is not None and value != recorded[name]]
    if differ:
        raise InvalidInput(
            f"{parent.dataset} is laid out as {recorded['shards']} shards x {recorded['slices']} slices, seed "
            f"{recorded['seed']}: an append keeps that layout (its {', '.join(differ)} cannot change)",
            code="layout_mismatch",
        )
    return recorded


def preview_import(source: Source, spec: DatasetSpec, *, secret: bytes | str, rows: int = PREVIEW_ROWS) -> dict:
    """What an import would make of the source's first rows, writing nothing: the first `rows`
    records and the refusals among the first PREVIEW_SCAN_ROWS rows."""
    collector = _collect(
        source, spec, RowMapper(spec, secret), {}, skip_invalid=True, progress=None, limit=PREVIEW_SCAN_ROWS
    )
    return {
        "records": [
            {"record_id": r.record_id, "subject_key": r.subject_key[:12], "content": r.content}
            for r in collector.records[:rows]
        ],
        "refused": [refusal.to_dict() for refusal in collector.refusals],
        "refused_count": collector.refused_count,
        "rows_scanned": collector.rows_read,
        "source": source.describe(),
    }
