"""Where a team's rows come from: files (CSV, JSONL, Parquet) in a local folder or under an
s3:// prefix, or a PostgreSQL table or query.

Every source yields `RowBatch`es in a fixed order (files sorted by path, rows in file order; a
table ordered by its record-id column when the spec has one), reads only the columns the spec
names, and streams: memory holds one batch, never the source. Files are read with pyarrow
(its CSV reader does RFC 4180 quoting and skips a UTF-8 BOM; Parquet natively; local and S3
through the same `pyarrow.fs` filesystems); JSONL is read line by line with the standard json
module, so a wrong-typed value is one refused row, not an unreadable file. PostgreSQL through
psycopg with a server-side cursor in a read-only transaction."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.fs as pa_fs
import pyarrow.parquet as pq
from psycopg import sql

from erasure_engine.errors import EngineError, InvalidInput

FILE_FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
BATCH_ROWS = 50_000
CSV_BLOCK_BYTES = 4 << 20


class SourceError(EngineError):
    """The source cannot be read as a whole (unreachable, unreadable file, missing column)."""

    code = "source_error"


@dataclass
class RowBatch:
    """Rows of one location (a file, a table) with the 1-based data row number of the first."""

    location: str
    first_row: int
    rows: list[dict]
    typed: bool  # False for CSV: every value is text, numbers are parsed from it


def redact_url(url: str) -> str:
    """A connection URL without its password (in the netloc or as a query parameter): what may be stored."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        netloc = f"{userinfo.split(':', 1)[0]}@{host}"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k.lower() != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


class FileSource:
    """One file, or every CSV/JSONL/Parquet file under a folder or an s3:// prefix."""

    kind = "files"

    def __init__(self, location: str, *, endpoint_url: str | None = None):
        if not isinstance(location, str) or not location.strip():
            raise InvalidInput("name the source: a file, a folder or an s3://bucket/prefix")
        self.location = location.strip()
        self.filesystem, root = self._filesystem(self.location, endpoint_url)
        self.files = self._list(root)

    @staticmethod
    def _filesystem(location: str, endpoint_url: str | None) -> tuple[pa_fs.FileSystem, str]:
        if location.startswith("s3://"):
            bucket_and_prefix = location[len("s3://") :].strip("/")
            if not bucket_and_prefix:
                raise InvalidInput(f"{location!r} names no bucket")
            endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
            options = {"region": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
            if endpoint:
                parsed = urlsplit(endpoint)
                options.update(endpoint_override=parsed.netloc, scheme=parsed.scheme or "https")
            return pa_fs.S3FileSystem(**options), bucket_and_prefix
        if "://" in location and not location.startswith("file://"):
            raise InvalidInput(f"unsupported source {location!r}: a path, an s3:// prefix or a postgresql:// URL")
        path = os.path.abspath(location.removeprefix("file://"))
        return pa_fs.LocalFileSystem(), path

    def _list(self, root: str) -> list[str]:
        try:
            info = self.filesystem.get_file_info(root)
            if info.type == pa_fs.FileType.File:
                candidates = [root]
            elif info.type == pa_fs.FileType.Directory:
                found = self.filesystem.get_file_info(pa_fs.FileSelector(root, recursive=True))
                candidates = [i.path for i in found if i.type == pa_fs.FileType.File]
            else:
                raise SourceError(f"source {self.location} does not exist")
        except (OSError, pa.ArrowException) as error:
            raise SourceError(f"cannot list {self.location}: {error}") from None
        files = sorted(path for path in candidates if file_format(path) is not None)
        if not files:
            raise SourceError(f"no CSV, JSONL or Parquet files in {self.location}")
        return files

    def describe(self) -> dict:
        return {"kind": self.kind, "location": self.location, "files": [self.display(path) for path in self.files]}

    def display(self, path: str) -> str:
        """A file as people name it: s3://bucket/key or the local path."""
        return f"s3://{path}" if self.location.startswith("s3://") else path

    def batches(self, columns: Sequence[str], *, order_by: str | None = None) -> Iterator[RowBatch]:
        """Rows of every file in path order (`order_by` is for tables: a file's order is its own)."""
        for path in self.files:
            reader = {"csv": self._csv, "jsonl": self._jsonl, "parquet": self._parquet}[file_format(path)]
            try:
                yield from reader(path, list(columns))
            except (OSError, pa.ArrowException, UnicodeDecodeError) as error:
                raise SourceError(
                    f"cannot read {self.display(path)}: {error}", details={"file": self.display(path)}
                ) from None

    def _check_columns(self, path: str, present: Sequence[str], columns: Sequence[str]) -> None:
        missing = [name for name in columns if name not in present]
        if missing:
            raise SourceError(
                f"{self.display(path)} has no column {missing[0]!r} (its columns: {', '.join(present)})",
                code="missing_column",
                details={"file": self.display(path), "column": missing[0]},
            )

    def _csv(self, path: str, columns: list[str]) -> Iterator[RowBatch]:
        parse = pa_csv.ParseOptions(newlines_in_values=True)
        with self.filesystem.open_input_stream(path) as stream:
            header = pa_csv.open_csv(stream, parse_options=parse).schema.names
        self._check_columns(path, header, columns)
        convert = pa_csv.ConvertOptions(
            include_columns=columns,
            column_types={name: pa.string() for name in columns},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        )
        row = 1
        with self.filesystem.open_input_stream(path) as stream:
            reader = pa_csv.open_csv(
                stream,
                read_options=pa_csv.ReadOptions(block_size=CSV_BLOCK_BYTES),
                parse_options=parse,
                convert_options=convert,
            )
            for batch in reader:
                rows = batch.to_pylist()
                yield RowBatch(self.display(path), row, rows, typed=False)
                row += len(rows)

    def _parquet(self, path: str, columns: list[str]) -> Iterator[RowBatch]:
        with self.filesystem.open_input_file(path) as handle:
            parquet = pq.ParquetFile(handle)
            self._check_columns(path, parquet.schema_arrow.names, columns)
            row = 1
            for batch in parquet.iter_batches(batch_size=BATCH_ROWS, columns=columns, use_threads=False):
                rows = batch.to_pylist()
                yield RowBatch(self.display(path), row, rows, typed=True)
                row += len(rows)

    def _jsonl(self, path: str, columns: list[str]) -> Iterator[RowBatch]:
        with self.filesystem.open_input_stream(path) as stream:
            text = io.TextIOWrapper(stream, encoding="utf-8-sig")
            rows: list[dict] = []
            first = 1
            for number, line in enumerate(text, start=1):
                if not rows:
                    first = number
                if not line.strip():
                    rows.append(JSONL_BLANK)
                else:
                    try:
                        value = json.loads(line)
                    except ValueError as error:
                        value = {JSONL_FAULT: f"not JSON ({error.msg})"}
                    if not isinstance(value, dict):
                        value = {JSONL_FAULT: "not a JSON object"}
                    rows.append(value)
                if len(rows) >= BATCH_ROWS:
                    yield RowBatch(self.display(path), first, rows, typed=True)
                    rows = []
            if rows:
                yield RowBatch(self.display(path), first, rows, typed=True)


# Markers for JSONL lines that are not rows: a blank line is skipped, a broken one refused.
JSONL_BLANK: dict = {"\0blank": True}
JSONL_FAULT = "\0fault"


def file_format(path: str) -> str | None:
    return FILE_FORMATS.get(os.path.splitext(path)[1].lower())


def table_identifier(table: str) -> sql.Composable:
    parts = table.split(".")
    if not 1 <= len(parts) <= 2 or not all(part.strip() for part in parts):
        raise InvalidInput(f"table {table!r} must be a name or schema.name")
    return sql.Identifier(*parts)


class PostgresSource:
    """A table or a query in a team's PostgreSQL, read in a read-only transaction with a
    server-side cursor. The URL may omit the password: libpq reads PGPASSWORD."""

    kind = "postgresql"

    def __init__(self, url: str, *, table: str | None = None, query: str | None = None, name: str | None = None):
        if not isinstance(url, str) or not url.startswith(("postgresql://", "postgres://")):
            raise InvalidInput("a PostgreSQL source is a postgresql://user@host:port/database URL")
        if (table is None) == (query is None):
            raise InvalidInput("a PostgreSQL source needs exactly one of --table or --query")
        if query is not None and (not isinstance(query, str) or not query.strip()):
            raise InvalidInput("--query must not be empty")
        self.url = url
        self.table = table
        self.query = query.strip().rstrip(";") if query is not None else None
        self.name = name
        self._relation = (
            table_identifier(table) if table is not None else sql.SQL("({}) AS source").format(sql.SQL(self.query))
        )

    def describe(self) -> dict:
        return {
            "kind": self.kind,
            "name": self.name,
            "url": redact_url(self.url),
            "table": self.table,
            "query": self.query,
        }

    @property
    def location(self) -> str:
        return self.table or "query"

    def connect(self) -> psycopg.Connection:
        try:
            return psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as error:
            raise SourceError(f"cannot connect to {redact_url(self.url)}: {error}".strip()) from None

    def columns(self, connection: psycopg.Connection) -> list[str]:
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT * FROM {} LIMIT 0").format(self._relation))
            return [column.name for column in cursor.description]

    def batches(self, columns: Sequence[str], *, order_by: str | None = None) -> Iterator[RowBatch]:
        with self.connect() as connection:
            connection.read_only = True
            try:
                present = self.columns(connection)
                missing = [name for name in columns if name not in present]
                if missing:
                    raise SourceError(
                        f"{self.location} has no column {missing[0]!r} (its columns: {', '.join(present)})",
                        code="missing_column",
                        details={"file": self.location, "column": missing[0]},
                    )
                statement = sql.SQL("SELECT {} FROM {}").format(
                    sql.SQL(", ").join(sql.Identifier(name) for name in columns), self._relation
                )
                if order_by is not None:
                    statement += sql.SQL(" ORDER BY {}").format(sql.Identifier(order_by))
                row = 1
                with connection.cursor(name="erasure_import") as cursor:
                    cursor.itersize = BATCH_ROWS
                    cursor.execute(statement)
                    while chunk := cursor.fetchmany(BATCH_ROWS):
                        rows = [dict(zip(columns, values)) for values in chunk]
                        yield RowBatch(self.location, row, rows, typed=True)
                        row += len(rows)
            except psycopg.Error as error:
                raise SourceError(f"cannot read {self.location}: {error}".strip()) from None


def open_source(
    location: str,
    *,
    table: str | None = None,
    query: str | None = None,
    endpoint_url: str | None = None,
    name: str | None = None,
) -> FileSource | PostgresSource:
    """The source a CLI argument or an API field names."""
    if isinstance(location, str) and location.startswith(("postgresql://", "postgres://")):
        return PostgresSource(location, table=table, query=query, name=name)
    if table is not None or query is not None:
        raise InvalidInput("--table and --query apply to a postgresql:// source only")
    return FileSource(location, endpoint_url=endpoint_url)
