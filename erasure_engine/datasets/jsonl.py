"""Slice objects: one canonical-JSON record per line."""

from __future__ import annotations

import json

from erasure_engine.errors import IntegrityMismatch
from erasure_engine.records import Record, canonical_json


def encode_records(records: list[Record]) -> bytes:
    return b"".join(canonical_json(record.to_json()) + b"\n" for record in records)


def decode_records(data: bytes, *, source: str) -> list[Record]:
    records = []
    for number, line in enumerate(data.splitlines(), start=1):
        try:
            records.append(Record.from_json(json.loads(line)))
        except (ValueError, UnicodeDecodeError) as error:
            raise IntegrityMismatch(f"object {source}: line {number} is not a JSON record ({error})") from None
    return records
