"""Bring your own data: a team's rows (CSV, JSONL, Parquet files, a folder or s3:// prefix of
them, a PostgreSQL table or query) mapped by a dataset spec into a versioned dataset, with
identifiers hashed at the door, refused rows reported, and erasure that reaches the source."""

from erasure_engine.imports.identity_map import IdentityMapReport, IdentityMapSpec, read_identity_links
from erasure_engine.imports.importer import ImportReport, import_dataset, preview_import
from erasure_engine.imports.mapping import Refusal
from erasure_engine.imports.source_erasure import erase_from_source, record_id_digest
from erasure_engine.imports.sources import FileSource, PostgresSource, SourceError, open_source, redact_url
from erasure_engine.imports.spec import IDENTIFIER_KINDS, DatasetSpec, SpecError, load_spec, parse_spec_text

__all__ = [
    "IDENTIFIER_KINDS",
    "DatasetSpec",
    "FileSource",
    "IdentityMapReport",
    "IdentityMapSpec",
    "ImportReport",
    "PostgresSource",
    "Refusal",
    "SourceError",
    "SpecError",
    "erase_from_source",
    "import_dataset",
    "load_spec",
    "open_source",
    "parse_spec_text",
    "preview_import",
    "read_identity_links",
    "record_id_digest",
    "redact_url",
]
