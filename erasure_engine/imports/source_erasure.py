"""Erasure that reaches back to where the records came from.

A dataset imported from a PostgreSQL table keeps its source in every version's manifest (the URL
without its password, the table, the spec's `on_erase`). Erasing records there deletes the
source rows — or masks the named columns — in one transaction per table, and says exactly what
changed: the table, the rows, hashes of the erased record ids, the masked columns. The caller
gives the connection URL of a role allowed to DELETE or UPDATE that table (or lets libpq read
PGPASSWORD for the recorded URL), so the import itself may run as a read-only role.

File sources are the team's to rewrite: the platform erases its own copy, and the report names
the files that held the rows."""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from erasure_engine.errors import InvalidInput
from erasure_engine.imports.sources import SourceError, redact_url, table_identifier


def record_id_digest(record_id: str) -> str:
    """What the evidence keeps of an erased record id."""
    return hashlib.sha256(f"erased-record-id:{record_id}".encode()).hexdigest()


def erase_target(source: dict) -> tuple[str, str]:
    """(table, key column) that erasure writes to for a PostgreSQL source block."""
    on_erase = (source.get("spec") or {}).get("on_erase") or {}
    table = on_erase.get("table") or source.get("table")
    key_column = on_erase.get("key_column") or ((source.get("spec") or {}).get("record_id") or {}).get("column")
    if not table or not key_column:
        raise InvalidInput(
            "a PostgreSQL source erases by record id: the spec needs record_id.column, and on_erase.table for a query",
            code="source_not_erasable",
        )
    return table, key_column


def erase_from_source(source: dict | None, record_ids: list[str], *, url: str | None = None) -> dict:
    """Delete or mask the source rows of `record_ids`; idempotent (rows already gone count 0)."""
    if not source:
        return {"kind": "generated", "action": "none", "rows": 0}
    if source.get("kind") != "postgresql":
        return {
            "kind": source.get("kind"),
            "action": "none",
            "rows": 0,
            "files": list(source.get("files") or []),
            "note": "the platform's copy is erased; the source files are the team's to rewrite",
        }
    table, key_column = erase_target(source)
    on_erase = (source.get("spec") or {}).get("on_erase") or {"action": "delete"}
    ids = sorted(set(record_ids))
    connection_url = url or source["url"]
    key = sql.SQL("{}::text").format(sql.Identifier(key_column))
    if on_erase["action"] == "mask":
        columns = on_erase["columns"]
        assignments = sql.SQL(", ").join(
            sql.SQL("{} = {}").format(sql.Identifier(name), sql.Placeholder()) for name in columns
        )
        statement = sql.SQL("UPDATE {} SET {} WHERE {} = ANY(%s)").format(table_identifier(table), assignments, key)
        parameters = [*columns.values(), ids]
    else:
        statement = sql.SQL("DELETE FROM {} WHERE {} = ANY(%s)").format(table_identifier(table), key)
        parameters = [ids]
    try:
        with psycopg.connect(connection_url, connect_timeout=10) as connection:
            with connection.transaction(), connection.cursor() as cursor:
                cursor.execute(statement, parameters)
                rows = cursor.rowcount
    except psycopg.Error as error:
        raise SourceError(
            f"erasing from {table} at {redact_url(connection_url)} failed: {error}".strip(),
            code="source_erasure_failed",
        ) from None
    return {
        "kind": "postgresql",
        "url": redact_url(connection_url),
        "table": table,
        "action": on_erase["action"],
        "rows": rows,
        "record_id_digests": [record_id_digest(record_id) for record_id in ids],
        "masked_columns": sorted(on_erase.get("columns") or {}) if on_erase["action"] == "mask" else [],
    }
