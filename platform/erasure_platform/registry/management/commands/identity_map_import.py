import json
import sys

from django.core.management.base import BaseCommand, CommandError

from erasure_platform.core.errors import ApplicationError
from erasure_platform.registry.management.source_options import add_source_arguments, checked_source, read_spec
from erasure_platform.registry.services.identity_maps import (
    identity_map_get_or_register,
    identity_map_import_run,
    identity_map_spec_check,
)


class Command(BaseCommand):
    help = (
        "Bring your own data: import an identity map — which identifiers are one person's (e.g. e-mail and "
        "customer id) — from a file, folder, s3:// prefix or named PostgreSQL source, replacing the map's links. "
        "A request verified by e-mail then finds records keyed by customer id. Exits 1 when rows were refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--map", required=True, help="identity map name (registered now if it is new)")
        parser.add_argument("--spec", required=True, help='spec file: {"identities": [{"column", "kind"}, ...]}')
        add_source_arguments(parser)

    def handle(self, *args, **options):
        spec_text = read_spec(options["spec"])
        try:
            params = {
                "source": checked_source(options),
                "spec": identity_map_spec_check(spec_text),
                "skip_invalid": options["skip_invalid"],
            }
            identity_map = identity_map_get_or_register(name=options["map"], actor=options["actor"])
            summary = identity_map_import_run(identity_map=identity_map, params=params, actor=options["actor"])
        except ApplicationError as error:
            raise CommandError(f"[{error.code}] {error.message}") from None
        self.stdout.write(json.dumps(summary, indent=2))
        if not summary["accepted"]:
            sys.exit(1)
