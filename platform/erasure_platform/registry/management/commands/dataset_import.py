import json
import sys

from django.core.management.base import BaseCommand, CommandError

from erasure_platform.core.errors import ApplicationError
from erasure_platform.registry.import_sources import import_spec_check
from erasure_platform.registry.management.source_options import add_source_arguments, checked_source, read_spec
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
        parser.add_argument("--spec", required=True, help="dataset spec file (JSON or YAML)")
        add_source_arguments(parser)
        parser.add_argument("--shards", type=int, help="new dataset: SISA shards (default 1)")
        parser.add_argument("--slices", type=int, help="new dataset: slices per shard (default 1)")
        parser.add_argument("--seed", type=int, help="new dataset: placement seed (default 0)")
        parser.add_argument(
            "--purpose", choices=DatasetPurpose.values, default=DatasetPurpose.TRAINING, help="a new dataset's purpose"
        )

    def handle(self, *args, **options):
        spec_text = read_spec(options["spec"])
        try:
            params = {
                "source": checked_source(options),
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
