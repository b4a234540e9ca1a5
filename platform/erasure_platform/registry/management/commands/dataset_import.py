import json
import sys

from django.core.management.base import BaseCommand, CommandError

from erasure_platform.core.errors import ApplicationError
from erasure_platform.registry.import_sources import import_source_check, import_spec_check
from erasure_platform.registry.models import Dataset, DatasetPurpose
from erasure_platform.registry.services.dataset_imports import dataset_import_run
from erasure_platform.registry.services.datasets import dataset_register


class Command(BaseCommand):
    help = (
        "Bring your own data: import a team's records (CSV, JSONL or Parquet files, a folder or s3:// prefix of "
        "them, or a named PostgreSQL source's table or query) into a dataset through a dataset spec, and register "
        "the new version. Prints the JSON report; exits 1 when rows were refused (nothing written)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dataset", required=True, help="dataset name (registered now if it is new)")
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--source", help="a file, a folder or an s3://bucket/prefix")
        source.add_argument("--postgres", help="a PostgreSQL source named in ERASURE_DATASET_SOURCES")
        parser.add_argument("--table", help="PostgreSQL: the table (or schema.table) to read")
        parser.add_argument("--query", help="PostgreSQL: a SELECT to read instead of a table")
        parser.add_argument("--spec", required=True, help="dataset spec file (JSON or YAML)")
        parser.add_argument("--shards", type=int, help="new dataset: SISA shards (default 1)")
        parser.add_argument("--slices", type=int, help="new dataset: slices per shard (default 1)")
        parser.add_argument("--seed", type=int, help="new dataset: placement seed (default 0)")
        parser.add_argument("--skip-invalid", action="store_true", help="leave refused rows out, listed in the report")
        parser.add_argument(
            "--purpose", choices=DatasetPurpose.values, default=DatasetPurpose.TRAINING, help="a new dataset's purpose"
        )
        parser.add_argument("--actor", default="operator", help="who is importing (recorded in the audit trail)")

    def handle(self, *args, **options):
        try:
            with open(options["spec"], encoding="utf-8-sig") as handle:
                spec_text = handle.read()
        except OSError as error:
            raise CommandError(f"cannot read the spec: {error}") from None
        try:
            # The operator runs this on the host: any local path they can read is allowed.
            source = import_source_check(
                location=options["source"],
                postgres=options["postgres"],
                table=options["table"],
                query=options["query"],
                any_local_path=True,
            )
            params = {
                "source": source,
                "spec": import_spec_check(spec_text),
                "shards": options["shards"],
                "slices": options["slices"],
                "seed": options["seed"],
                "skip_invalid": options["skip_invalid"],
            }
            dataset = Dataset.objects.filter(name=options["dataset"]).first() or dataset_register(
                name=options["dataset"], actor=options["actor"], purpose=options["purpose"]
            )
            report, version = dataset_import_run(dataset=dataset, params=params, actor=options["actor"])
        except ApplicationError as error:
            raise CommandError(f"[{error.code}] {error.message}") from None
        self.stdout.write(json.dumps({**report, "registered": str(version) if version else None}, indent=2))
        if version is None:
            sys.exit(1)
