"""Identity maps: which identifiers belong to one person (an e-mail and a customer id), read from
a team's source like any dataset, kept only as pairs of subject keys.

    {"identities": [{"column": "email", "kind": "email"},
                    {"column": "customer_id", "kind": "customer_id"}]}

A request verified by e-mail then finds the records of a dataset keyed by customer id. Each row
links the keys of every identifier it holds; a row with fewer than two identifiers links nothing
and is refused (or skipped and listed), as a bad row of a dataset import is. Rows sharing a key
are one person (an e-mail with two customer ids in two rows): the links close over each person,
every pair of their keys, so a lookup needs one hop."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

from erasure_engine.errors import InvalidInput
from erasure_engine.imports.mapping import Refusal, RowFault, SubjectKeys, check_identifier
from erasure_engine.imports.sources import JSONL_BLANK, JSONL_FAULT, FileSource, PostgresSource
from erasure_engine.imports.spec import IDENTIFIER_KINDS, SpecError, spec_column, spec_object

REFUSALS_LISTED = 100
KEYS_PER_PERSON_LIMIT = 100  # a map that ties more identifiers to one person is broken, not a person


@dataclass(frozen=True)
class IdentityMapSpec:
    identities: tuple[tuple[str, str], ...]  # (column, kind)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(column for column, _ in self.identities)

    @classmethod
    def from_dict(cls, data) -> IdentityMapSpec:
        data = spec_object(data, "the identity map spec", {"identities"}, {"identities"})
        raw = data["identities"]
        if not isinstance(raw, list) or len(raw) < 2:
            raise SpecError("identities must list at least two identifier columns (e.g. email and customer_id)")
        identities = []
        for index, entry in enumerate(raw):
            entry = spec_object(entry, f"identities[{index}]", {"column", "kind"}, {"column", "kind"})
            if entry["kind"] not in IDENTIFIER_KINDS:
                raise SpecError(f"identities[{index}].kind must be one of {', '.join(IDENTIFIER_KINDS)}")
            identities.append((spec_column(entry["column"], f"identities[{index}].column"), entry["kind"]))
        if len({column for column, _ in identities}) != len(identities):
            raise SpecError("identities names a column twice")
        return cls(tuple(identities))

    def to_dict(self) -> dict:
        return {"identities": [{"column": column, "kind": kind} for column, kind in self.identities]}


@dataclass
class IdentityMapReport:
    links: list[tuple[str, str]]  # (key, key) pairs, each once, the smaller key first
    people: int  # persons the links describe (rows sharing a key are one person)
    rows_read: int
    refused: list[dict] = field(default_factory=list)
    refused_count: int = 0
    skip_invalid: bool = False
    source: dict = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.refused_count == 0 or self.skip_invalid

    def summary(self) -> dict:
        data = asdict(self)
        data.pop("links")
        return {**data, "links": len(self.links), "accepted": self.accepted}


def read_identity_links(
    source: FileSource | PostgresSource, spec: IdentityMapSpec, *, secret: bytes | str, skip_invalid: bool = False
) -> IdentityMapReport:
    """Every pair of subject keys the source's rows tie together; raw identifiers go no further."""
    started = time.monotonic()
    keys_of = SubjectKeys(secret)
    people = _People()
    refusals: list[Refusal] = []
    refused_count = rows_read = linking_rows = 0
    for batch in source.batches(spec.columns):
        for offset, row in enumerate(batch.rows):
            if row is JSONL_BLANK:
                continue
            rows_read += 1
            try:
                keys = _row_keys(row, spec, keys_of)
            except RowFault as fault:
                refused_count += 1
                if len(refusals) < REFUSALS_LISTED:
                    refusals.append(Refusal(batch.location, batch.first_row + offset, fault.column, fault.reason))
                continue
            linking_rows += 1
            people.join(keys)
    persons = people.persons()
    too_large = [person for person in persons if len(person) > KEYS_PER_PERSON_LIMIT]
    if too_large:
        raise InvalidInput(
            f"the identity map ties {len(too_large[0]):,} identifiers to one person (at most "
            f"{KEYS_PER_PERSON_LIMIT}): a shared placeholder value (like a support address) links everyone",
            code="identity_map_too_connected",
        )
    return IdentityMapReport(
        links=sorted((a, b) for person in persons for a in person for b in person if a < b),
        people=len(persons),
        rows_read=rows_read,
        refused=[r.to_dict() for r in refusals],
        refused_count=refused_count,
        skip_invalid=skip_invalid,
        source=source.describe(),
        seconds=round(time.monotonic() - started, 3),
    )


class _People:
    """Union-find over subject keys: rows sharing a key belong to one person."""

    def __init__(self):
        self.parent: dict[str, str] = {}

    def root(self, key: str) -> str:
        parent = self.parent.setdefault(key, key)
        while parent != self.parent[parent]:
            self.parent[parent] = self.parent[self.parent[parent]]
            parent = self.parent[parent]
        self.parent[key] = parent
        return parent

    def join(self, keys: list[str]) -> None:
        first = self.root(keys[0])
        for key in keys[1:]:
            other = self.root(key)
            if other != first:
                self.parent[other] = first

    def persons(self) -> list[list[str]]:
        groups: dict[str, list[str]] = {}
        for key in self.parent:
            groups.setdefault(self.root(key), []).append(key)
        return sorted(sorted(group) for group in groups.values())


def _row_keys(row: dict, spec: IdentityMapSpec, keys_of: SubjectKeys) -> list[str]:
    if JSONL_FAULT in row:
        raise RowFault(None, row[JSONL_FAULT])
    keys = set()
    for column, kind in spec.identities:
        if column not in row:
            raise RowFault(column, "missing column")
        value = row[column]
        if value is None or (isinstance(value, str) and not value.strip()):
            continue  # this person has no such identifier
        keys.add(keys_of(check_identifier(value, column=column, kind=kind)))
    if len(keys) < 2:
        raise RowFault(None, "links nothing: fewer than two identifiers in the row")
    return sorted(keys)
