"""Where a team's records and models may be imported from, checked: the sources and specs that
dataset imports (services/dataset_imports.py) and their previews (selectors.py) accept, and the
model locations that model imports and pretrained bases (services/imports.py, models.py) accept.

A source is a `location` (a file, a folder or an s3:// prefix — under a root the operator allowed,
for the API and portal) or a `postgres` source name from the environment (ERASURE_DATASET_SOURCES)
with a `table` or a `query`: credentials never reach the database, job parameters hold the name."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from erasure_platform.core import engine
from erasure_platform.core.errors import ApplicationError
from erasure_platform.registry.services.datasets import engine_error

SPEC_TEXT_LIMIT = 20_000
QUERY_LIMIT = 10_000


def location_under(source: str, root: str) -> bool:
    """Whether `source` (a resolved local path or an s3:// URL) lies under an allowed root."""
    if root.startswith("s3://"):
        return source.rstrip("/") + "/" == root.rstrip("/") + "/" or source.startswith(root.rstrip("/") + "/")
    path, base = Path(source), Path(root).resolve()
    return path == base or base in path.parents


def _allowed(location: str, roots: list[str], *, setting: str, command: str) -> None:
    """A location the API or portal may read: under one of the roots the operator allowed."""
    if not any(location_under(location, root) for root in roots):
        raise ApplicationError(
            f"imports through the API or portal must lie under {setting}; ask an operator to allow the "
            f"location or to run `manage.py {command}`",
            code="source_not_allowed",
        )


def model_location_check(source: str, *, any_local_path: bool = False) -> str:
    """An s3:// prefix or a local directory. Through the API and portal it must lie under one of
    ERASURE_MODEL_IMPORT_ROOTS (least privilege: the workers' credentials read only what the
    operator allowed); the operator's command may read any path."""
    if not isinstance(source, str) or not source.strip():
        raise ApplicationError(
            "give the model's location: a local directory or an s3://bucket/prefix", code="invalid_source"
        )
    source = source.strip()
    if source.startswith("s3://"):
        if not source[len("s3://") :].strip("/"):
            raise ApplicationError(f"{source!r} names no bucket", code="invalid_source")
    elif "://" in source:
        raise ApplicationError("only local directories and s3:// prefixes can be imported", code="invalid_source")
    else:
        source = str(Path(source).resolve())
    if not any_local_path:
        _allowed(
            source,
            settings.ERASURE_MODEL_IMPORT_ROOTS,
            setting="ERASURE_MODEL_IMPORT_ROOTS",
            command="registry_import_model",
        )
    if not source.startswith("s3://"):
        path = Path(source)
        if not path.is_dir():
            raise ApplicationError(f"model directory {source} does not exist", code="invalid_source")
        if any(item.is_symlink() for item in path.rglob("*")):
            raise ApplicationError(f"{source} holds symbolic links; import plain files only", code="invalid_source")
    return source


def import_source_check(
    *,
    location: str | None = None,
    postgres: str | None = None,
    table: str | None = None,
    query: str | None = None,
    any_local_path: bool = False,
) -> dict:
    """The checked source, as job parameters: {"location": …} or {"postgres": name, "table"/"query": …}.
    Through the API and portal a location must lie under ERASURE_DATASET_IMPORT_ROOTS (least
    privilege: the workers read only what the operator allowed); the operator's command may read any."""
    if (location is None) == (postgres is None):
        raise ApplicationError(
            "name the source: a location (file, folder or s3:// prefix) or a named PostgreSQL source",
            code="invalid_source",
        )
    if postgres is not None:
        if postgres not in settings.DATASET_SOURCES:
            raise ApplicationError(
                f"no PostgreSQL source named {postgres!r}; an operator names them in ERASURE_DATASET_SOURCES",
                code="unknown_source",
                details={"known": sorted(settings.DATASET_SOURCES)},
            )
        if (table is None) == (query is None):
            raise ApplicationError("a PostgreSQL source needs exactly one of table or query", code="invalid_source")
        if query is not None and len(query) > QUERY_LIMIT:
            raise ApplicationError(f"the query is longer than {QUERY_LIMIT:,} characters", code="invalid_source")
        return {"postgres": postgres, "table": table, "query": query}
    if table is not None or query is not None:
        raise ApplicationError("table and query apply to a PostgreSQL source only", code="invalid_source")
    location = location.strip()
    if not location:
        raise ApplicationError("the location is empty", code="invalid_source")
    if location.startswith("postgres"):
        raise ApplicationError(
            "a PostgreSQL source is named, never given as a URL: its credentials stay in the environment "
            "(ERASURE_DATASET_SOURCES)",
            code="invalid_source",
        )
    if "://" in location and not location.startswith("s3://"):
        raise ApplicationError("a location is a local path or an s3:// prefix", code="invalid_source")
    if not location.startswith("s3://"):
        location = str(Path(location).resolve())
    if not any_local_path:
        _allowed(
            location,
            settings.ERASURE_DATASET_IMPORT_ROOTS,
            setting="ERASURE_DATASET_IMPORT_ROOTS",
            command="dataset_import",
        )
    return {"location": location}


def import_spec_check(spec) -> dict:
    """The spec (an object, or JSON/YAML text) validated by the engine, as a plain object."""
    if isinstance(spec, str):
        if len(spec) > SPEC_TEXT_LIMIT:
            raise ApplicationError(f"the spec is longer than {SPEC_TEXT_LIMIT:,} characters", code="invalid_spec")
        parse = engine.parse_spec_text
    else:
        parse = engine.DatasetSpec.from_dict
    try:
        return parse(spec).to_dict()
    except engine.EngineError as error:
        raise engine_error(error) from None


def engine_source(source: dict):
    """The engine's reader for checked source parameters (named PostgreSQL URLs resolved here)."""
    try:
        if "postgres" in source:
            url = settings.DATASET_SOURCES[source["postgres"]]["url"]
            return engine.open_source(url, table=source["table"], query=source["query"], name=source["postgres"])
        return engine.open_source(source["location"], endpoint_url=settings.OBJECT_STORE_ENDPOINT_URL)
    except KeyError:
        raise ApplicationError(f"the PostgreSQL source {source.get('postgres')!r} is not configured any more") from None
    except engine.EngineError as error:
        raise engine_error(error) from None
