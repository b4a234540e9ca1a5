"""One source row → one record, or the reason it cannot be one.

The identifier becomes a subject key (the keyed hash intake uses) and goes no further; only the
columns the spec names as text, features, label, metadata or record id reach the record. Typed
sources (Parquet, JSONL, PostgreSQL) must give numbers as numbers; CSV gives text, from which
numbers are parsed."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import math
from dataclasses import dataclass

from erasure_engine.errors import InvalidInput
from erasure_engine.imports.sources import JSONL_FAULT
from erasure_engine.imports.spec import DatasetSpec
from erasure_engine.records import Record, canonical_json, subject_key

RECORD_ID_LIMIT = 200
TEXT_LIMIT = 1_000_000
TRUE_WORDS = {"true": 1, "false": 0, "yes": 1, "no": 0}


@dataclass(frozen=True)
class Refusal:
    """A row left out, and why. `row` is the 1-based data row (the header is not counted)."""

    file: str
    row: int | None
    column: str | None
    reason: str

    def to_dict(self) -> dict:
        return {"file": self.file, "row": self.row, "column": self.column, "reason": self.reason}


class RowFault(Exception):
    def __init__(self, column: str | None, reason: str):
        super().__init__(reason)
        self.column = column
        self.reason = reason


def _scalar_text(value, column: str) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float | decimal.Decimal | dt.date | dt.datetime | dt.time):
        return value.isoformat() if isinstance(value, dt.date | dt.datetime | dt.time) else str(value)
    raise RowFault(column, f"expected text, found {type(value).__name__}")


def _number(value, column: str, *, typed: bool) -> float:
    """A feature as a float, whichever source it came from (so CSV and Parquet give one record)."""
    if isinstance(value, bool):
        raise RowFault(column, "expected a number, found a boolean")
    if isinstance(value, int | float | decimal.Decimal):
        number = float(value)
    elif value is None or (isinstance(value, str) and not value.strip()):
        raise RowFault(column, "empty value")
    elif isinstance(value, str) and not typed:
        try:
            number = float(value)
        except ValueError:
            raise RowFault(column, f"expected a number, found {value[:80]!r}") from None
    else:
        raise RowFault(column, f"expected a number, found {type(value).__name__} {str(value)[:80]!r}")
    if not math.isfinite(number):
        raise RowFault(column, f"expected a finite number, found {value!r}")
    return number


def _label(value, column: str, *, typed: bool) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and not typed:
        word = value.strip().casefold()
        if word in TRUE_WORDS:
            return TRUE_WORDS[word]
        try:
            return int(word)
        except ValueError:
            pass
    raise RowFault(column, f"expected an integer class or a boolean, found {value!r}"[:200])


def _metadata_value(value, column: str):
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise RowFault(column, f"expected a finite number, found {value!r}")
        return value
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time):
        return value.isoformat()
    raise RowFault(column, f"metadata must be text, a number, a boolean or a date, found {type(value).__name__}")


def check_identifier(value, *, column: str, kind: str) -> str:
    """The identifier a row gives for a subject, as text; RowFault when there is none."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise RowFault(column, "no identifier: the row is about nobody the platform could find")
    if not isinstance(value, str):
        raise RowFault(column, f"expected an identifier (text), found {type(value).__name__}")
    if kind == "email" and "@" not in value:
        raise RowFault(column, "not an e-mail address")
    return value


def _record_id(value, column: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise RowFault(column, "no record id" if value in (None, "") else f"expected a record id, found {value!r}")
    if len(value) > RECORD_ID_LIMIT:
        raise RowFault(column, f"record id longer than {RECORD_ID_LIMIT} characters")
    return value


class SubjectKeys:
    """Identifier -> subject key (the keyed hash intake uses), remembered for a while: one person
    usually has many rows, and the hash is the costliest step of a row."""

    REMEMBERED = 200_000

    def __init__(self, secret: bytes | str):
        if not secret:
            raise InvalidInput("the subject-key secret must not be empty")
        self.secret = secret
        self._keys: dict[str, str] = {}

    def __call__(self, identifier: str) -> str:
        key = self._keys.get(identifier)
        if key is None:
            if len(self._keys) > self.REMEMBERED:
                self._keys.clear()
            key = self._keys[identifier] = subject_key(identifier, self.secret)
        return key


class RowMapper:
    """Maps rows for one spec and one subject-key secret."""

    def __init__(self, spec: DatasetSpec, secret: bytes | str):
        self.spec = spec
        self.subject_key_of = SubjectKeys(secret)

    def map(self, row: dict, *, typed: bool) -> Record:
        """The record of `row`; RowFault names the column and the reason when there is none."""
        spec = self.spec
        if JSONL_FAULT in row:
            raise RowFault(None, row[JSONL_FAULT])
        for name in spec.columns:
            if name not in row:
                raise RowFault(name, "missing column")
        key = self.subject_key_of(
            check_identifier(row[spec.subject_column], column=spec.subject_column, kind=spec.subject_kind)
        )
        content: dict = {}
        if spec.is_text:
            values = {name: _scalar_text(row[name], name) for name in spec.text_columns}
            text = spec.text_template.format_map(values)
            if not text.strip():
                raise RowFault(",".join(spec.text_columns), "empty text once the template is applied")
            if len(text) > TEXT_LIMIT:
                raise RowFault(",".join(spec.text_columns), f"text longer than {TEXT_LIMIT:,} characters")
            content["text"] = text
        else:
            content["features"] = [_number(row[name], name, typed=typed) for name in spec.features]
            content["label"] = _label(row[spec.label], spec.label, typed=typed)
        if spec.metadata:
            content["metadata"] = {name: _metadata_value(row[name], name) for name in spec.metadata}
        if spec.record_id_column:
            record_id = _record_id(row[spec.record_id_column], spec.record_id_column)
        else:
            # A keyed hash of the row: stable across imports, and it says nothing about the person
            # (the subject key inside it is itself a keyed hash).
            record_id = "row-" + hashlib.sha256(canonical_json({"s": key, "c": content})).hexdigest()[:32]
        return Record(record_id, key, content)
