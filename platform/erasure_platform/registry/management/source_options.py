"""The options the operator's import commands share: where the rows come from and their spec."""

from __future__ import annotations

from django.core.management.base import CommandError

from erasure_platform.registry.import_sources import import_source_check


def add_source_arguments(parser) -> None:
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--source", help="a file, a folder or an s3://bucket/prefix")
    source.add_argument("--postgres", help="a PostgreSQL source named in ERASURE_DATASET_SOURCES")
    parser.add_argument("--table", help="PostgreSQL: the table (or schema.table) to read")
    parser.add_argument("--query", help="PostgreSQL: a SELECT to read instead of a table")
    parser.add_argument("--skip-invalid", action="store_true", help="leave refused rows out, listed in the report")
    parser.add_argument("--actor", default="operator", help="who is importing (recorded in the audit trail)")


def read_spec(path: str) -> str:
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.read()
    except OSError as error:
        raise CommandError(f"cannot read the spec: {error}") from None


def checked_source(options: dict) -> dict:
    """The source the options name; the operator runs the command on the host, so any local path
    they can read is allowed (the API and portal keep to the import roots)."""
    return import_source_check(
        location=options["source"],
        postgres=options["postgres"],
        table=options["table"],
        query=options["query"],
        any_local_path=True,
    )
