"""Records and the keys that tie them to data subjects without storing who they are."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, field

from erasure_engine.errors import InvalidInput


def canonical_json(value) -> bytes:
    """One byte string per value: sorted keys, no whitespace, UTF-8. Used for every hash."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")


def json_nesting_exceeds(text: str, max_depth: int) -> bool:
    """True when JSON arrays/objects in `text` nest deeper than max_depth (brackets inside strings
    do not count). Measured without recursion: json.loads recurses once per level, so 50,000 '['
    raise RecursionError; whoever parses text from outside checks this first."""
    brackets = _NOT_A_BRACKET.sub("", _JSON_STRING.sub("", text))
    depth = 0
    for bracket in brackets:
        if bracket in "[{":
            depth += 1
            if depth > max_depth:
                return True
        else:
            depth -= 1
    return False


def normalize_identifier(identifier: str) -> str:
    """Same person, same key: trim, NFKC-normalise and case-fold identifiers (emails, ids)."""
    if not isinstance(identifier, str) or not identifier.strip():
        raise InvalidInput("a subject identifier must be a non-empty string")
    return unicodedata.normalize("NFKC", identifier).strip().casefold()


def subject_key(identifier: str, secret: bytes | str) -> str:
    """Keyed hash (HMAC-SHA256) of a subject identifier: stable, but useless without the secret."""
    if isinstance(secret, str):
        secret = secret.encode("utf-8")
    if not secret:
        raise InvalidInput("the subject-key secret must not be empty")
    digest = hmac.new(secret, normalize_identifier(identifier).encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()


@dataclass(frozen=True)
class Record:
    """One training record. `content` is JSON: {"text": ...} for language data,
    {"features": [...], "label": int} for tabular data, plus optional metadata."""

    record_id: str
    subject_key: str
    content: dict = field(hash=False)

    @functools.cached_property
    def content_hash(self) -> str:
        # Computed once: a record is listed, written and checked, and hashing is its costliest step.
        # (A record's content is never changed after it is made.)
        return hashlib.sha256(canonical_json(self.content)).hexdigest()

    def to_json(self) -> dict:
        return {
            "record_id": self.record_id,
            "subject_key": self.subject_key,
            "content": self.content,
            "content_hash": self.content_hash,
        }

    @classmethod
    def from_json(cls, data: dict) -> Record:
        try:
            record = cls(data["record_id"], data["subject_key"], data["content"])
        except (KeyError, TypeError) as error:
            raise InvalidInput(f"malformed record: missing {error}") from None
        expected = data.get("content_hash")
        if expected is not None and expected != record.content_hash:
            from erasure_engine.errors import IntegrityMismatch

            raise IntegrityMismatch(
                f"record {record.record_id}: content hash {record.content_hash} != stored {expected}"
            )
        return record
