"""`generate`, `datasets import|list|show` and `erase`: fictitious data or a team's own records
into versioned datasets."""

from __future__ import annotations

import argparse
import json
import os

from erasure_engine.cli.selection import forget_selection_arguments
from erasure_engine.datagen import (
    generate_general_text,
    generate_holdout_subjects,
    generate_subjects,
    generate_tabular,
    records_from_subjects,
    size_preset,
)
from erasure_engine.datasets import DatasetStore
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record, subject_key
from erasure_engine.storage import ObjectStore, object_store_from_url

DEFAULT_SECRET_ENV = "ERASURE_SUBJECT_KEY_SECRET"
KINDS = ("subjects", "holdout", "tabular", "general")


def register(subparsers) -> None:
    generate = subparsers.add_parser("generate", help="generate fictitious data into a new dataset version")
    _store_arguments(generate)
    generate.add_argument(
        "--kind",
        choices=KINDS,
        default="subjects",
        help="subject bios and QA, never-seen holdout subjects, tabular rows, or general text",
    )
    generate.add_argument("--size", default="tiny", help="size preset: tiny, small or reference")
    generate.add_argument("--count", type=int, help="override the preset: subjects (or texts for --kind general)")
    generate.add_argument("--seed", type=int, default=0, help="generation and shard/slice placement seed")
    generate.add_argument("--shards", type=int, default=1)
    generate.add_argument("--slices", type=int, default=1)
    _secret_argument(generate)
    generate.set_defaults(handler=handle_generate)

    datasets = subparsers.add_parser("datasets", help="import records, inspect dataset versions")
    datasets_sub = datasets.add_subparsers(dest="datasets_command", required=True, metavar="ACTION")
    importing = datasets_sub.add_parser(
        "import",
        help="import a team's records (CSV, JSONL, Parquet, a folder or s3:// prefix, PostgreSQL) as a new version",
    )
    _store_arguments(importing)
    importing.add_argument(
        "--source",
        required=True,
        help="a file, a folder, an s3://bucket/prefix (with --endpoint-url) or a postgresql://user@host/db URL",
    )
    importing.add_argument("--table", help="PostgreSQL source: the table (or schema.table) to read")
    importing.add_argument("--query", help="PostgreSQL source: a SELECT to read instead of a table")
    importing.add_argument("--spec", required=True, help="dataset spec (JSON or YAML): how a row becomes a record")
    importing.add_argument("--shards", type=int, help="new dataset: SISA shards (default 1); an append keeps its own")
    importing.add_argument("--slices", type=int, help="new dataset: slices per shard (default 1)")
    importing.add_argument("--seed", type=int, help="new dataset: placement seed (default 0)")
    importing.add_argument(
        "--skip-invalid", action="store_true", help="leave refused rows out (listed in the report) instead of refusing"
    )
    importing.add_argument("--report", help="also write the JSON report to this file")
    _secret_argument(importing)
    importing.set_defaults(handler=handle_import)
    listing = datasets_sub.add_parser("list", help="datasets in a store, or the versions of one")
    _store_arguments(listing, dataset_required=False)
    listing.set_defaults(handler=handle_list)
    show = datasets_sub.add_parser("show", help="summary of one version (default: latest)")
    _store_arguments(show)
    show.add_argument("--version", help="version id, e.g. v0002")
    show.add_argument("--verify", action="store_true", help="read every object and check its sha256")
    show.set_defaults(handler=handle_show)

    erase = subparsers.add_parser("erase", help="erase subjects or records from a dataset for good")
    _store_arguments(erase)
    erase.add_argument("--version", help="version to erase from (default: latest)")
    forget_selection_arguments(erase, what="to erase")
    erase.add_argument(
        "--identifier",
        action="append",
        default=[],
        help="raw identifier, turned into a subject key with the secret (repeatable)",
    )
    _secret_argument(erase)
    erase.set_defaults(handler=handle_erase)


def _store_arguments(parser: argparse.ArgumentParser, *, dataset_required: bool = True) -> None:
    parser.add_argument("--store", required=True, help="object store: a folder, file:///path or s3://bucket/prefix")
    parser.add_argument("--endpoint-url", help="S3 endpoint (MinIO, Ceph, moto)")
    parser.add_argument("--dataset", required=dataset_required, help="dataset name")


def _secret_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--secret-env",
        default=DEFAULT_SECRET_ENV,
        help=f"environment variable holding the subject-key secret (default {DEFAULT_SECRET_ENV})",
    )


def _object_store(args) -> ObjectStore:
    return object_store_from_url(args.store, endpoint_url=args.endpoint_url)


def _secret(args) -> str:
    secret = os.environ.get(args.secret_env, "")
    if not secret:
        raise InvalidInput(f"the subject-key secret is not set: export {args.secret_env}")
    return secret


def _print_json(value) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _generated_records(args) -> list[Record]:
    preset = size_preset(args.size)
    if args.count is not None and args.count < 0:
        raise InvalidInput("--count must not be negative")
    if args.kind == "general":
        return generate_general_text(preset.general_texts if args.count is None else args.count, args.seed)
    secret = _secret(args)
    if args.kind == "holdout":
        count = preset.holdout_subjects if args.count is None else args.count
        return records_from_subjects(generate_holdout_subjects(count, args.seed), secret)
    subjects = generate_subjects(preset.subjects if args.count is None else args.count, args.seed)
    if args.kind == "tabular":
        return generate_tabular(
            subjects, secret, seed=args.seed, records_per_subject=preset.tabular_records_per_subject
        )
    return records_from_subjects(subjects, secret)


def handle_generate(args) -> int:
    records = _generated_records(args)
    datasets = DatasetStore(_object_store(args), args.dataset)
    version = datasets.create_version(records, shards=args.shards, slices=args.slices, seed=args.seed)
    _print_json({"kind": args.kind, **version.summary()})
    return 0


def handle_import(args) -> int:
    """Exit 0 when a version was written (or nothing was new), 1 when rows were refused."""
    # Imported here: pyarrow and psycopg load only for the command that reads a team's source.
    from erasure_engine.imports import import_dataset, load_spec, open_source

    spec = load_spec(args.spec)
    source = open_source(args.source, table=args.table, query=args.query, endpoint_url=args.endpoint_url)
    report = import_dataset(
        source,
        spec,
        store=_object_store(args),
        dataset=args.dataset,
        secret=_secret(args),
        shards=args.shards,
        slices=args.slices,
        seed=args.seed,
        skip_invalid=args.skip_invalid,
    ).to_json()
    if args.report:
        with open(args.report, "w", encoding="utf-8") as handle:
            json.dump(report, handle, indent=2, sort_keys=True)
    _print_json(report)
    return 0 if report["accepted"] else 1


def handle_list(args) -> int:
    store = _object_store(args)
    if not args.dataset:
        names = sorted({key.split("/", 1)[0] for key in store.list_keys() if "/manifests/" in key})
        _print_json({"datasets": names})
        return 0
    datasets = DatasetStore(store, args.dataset)
    versions = []
    for version_id in datasets.list_versions():
        body = datasets.read_manifest(version_id).body
        versions.append(
            {
                "version_id": version_id,
                "parent_id": body["parent_id"],
                "created_at": body["created_at"],
                "records": body["record_count"],
                "purged_by": body["purged_by"],
            }
        )
    _print_json({"dataset": args.dataset, "versions": versions})
    return 0


def _version_or_latest(datasets: DatasetStore, version: str | None) -> str:
    if version:
        return version
    versions = datasets.list_versions()
    if not versions:
        raise InvalidInput(f"dataset {datasets.name!r} has no versions in {datasets.store.url()}")
    return versions[-1]


def handle_show(args) -> int:
    datasets = DatasetStore(_object_store(args), args.dataset)
    version = datasets.load_version(_version_or_latest(datasets, args.version), verify=args.verify)
    _print_json({**version.summary(), "verified": bool(args.verify)})
    return 0


def handle_erase(args) -> int:
    keys = list(args.subject_key)
    if args.identifier:
        secret = _secret(args)
        keys.extend(subject_key(identifier, secret) for identifier in args.identifier)
    if not keys and not args.record_id:
        raise InvalidInput("name what to erase: --subject-key, --record-id or --identifier")
    datasets = DatasetStore(_object_store(args), args.dataset)
    report = datasets.erase(_version_or_latest(datasets, args.version), subject_keys=keys, record_ids=args.record_id)
    _print_json(report.to_json())
    return 0
