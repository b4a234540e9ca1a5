from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from erasure_platform.registry.services.demo import demo_seed


class Command(BaseCommand):
    help = "Generate the fictitious demo datasets, train a small SISA classifier and release it (embedded mode). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--size", choices=("tiny", "small"), default="small")
        parser.add_argument("--shards", type=int, default=4)
        parser.add_argument("--slices", type=int, default=2)
        parser.add_argument("--epochs", type=int, default=4)

    def handle(self, *args, **options):
        if settings.PRODUCTION:
            raise CommandError("the demo model is for the embedded mode only")
        demo_seed(
            size=options["size"],
            shards=options["shards"],
            slices=options["slices"],
            epochs=options["epochs"],
            log=self.stdout.write,
        )
