from django.core.management.base import BaseCommand, CommandError

from erasure_platform.core.errors import ApplicationError
from erasure_platform.registry import selectors
from erasure_platform.registry.services.imports import model_version_import


class Command(BaseCommand):
    help = (
        "Bring your own model: import a model version trained elsewhere (a save_pretrained directory with "
        "safetensors weights, local or s3://bucket/prefix) with the dataset version it was trained on. "
        "The model is loaded as its own architecture to validate it; pickle or mismatched checkpoints are refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--model", required=True, help="registered model name")
        parser.add_argument("--source", required=True, help="local directory or s3://bucket/prefix")
        parser.add_argument("--dataset", required=True, help="dataset name it was trained on")
        parser.add_argument("--dataset-version", required=True, help="dataset version id it was trained on, e.g. v0001")
        parser.add_argument("--version-id", help="version id to record (default: import-<weights digest prefix>)")
        parser.add_argument(
            "--make-production",
            action="store_true",
            help="the model has no production version yet and this one is in production elsewhere",
        )
        parser.add_argument("--actor", default="operator", help="who is importing (recorded in the audit trail)")

    def handle(self, *args, **options):

        try:
            model = selectors.model_get(name=options["model"])
            dataset = selectors.dataset_get(name=options["dataset"])
            trained_on = dataset.versions.filter(version_id=options["dataset_version"]).first()
            if trained_on is None:
                raise CommandError(f"dataset {dataset.name} has no version {options['dataset_version']}")
            # The operator runs this on the host: any local path they can read is allowed.
            version = model_version_import(
                model=model,
                source=options["source"],
                trained_on=trained_on,
                actor=options["actor"],
                version_id=options["version_id"],
                make_production=options["make_production"],
                any_local_path=True,
            )
        except ApplicationError as error:
            raise CommandError(f"[{error.code}] {error.message}") from None
        self.stdout.write(
            f"imported {model.name}/{version.version_id} ({version.provenance.get('architecture')}, "
            f"{version.provenance.get('model_type')}) trained on {trained_on}; status {version.status}"
        )
