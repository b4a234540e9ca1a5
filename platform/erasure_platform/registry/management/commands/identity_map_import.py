import json
import sys

from django.core.management.base import BaseCommand, CommandError

from erasure_platform.core.errors import ApplicationError
from erasure_platform.registry.import_sources import import_source_check
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
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--source", help="a file, a folder or an s3://bucket/prefix")
        source.add_argument("--postgres", help="a PostgreSQL source named in ERASURE_DATASET_SOURCES")
        parser.add_argument("--table", help="PostgreSQL: the table (or schema.table) to read")
        parser.add_argument("--query", help="PostgreSQL: a SELECT to read instead of a table")
        parser.add_argument("--spec", required=True, help='spec file: {"identities": [{"column", "kind"}, ...]}')
        parser.add_argument("--skip-invalid", action="store_true", help="leave refused rows out, listed in the report")
        parser.add_argument("--actor", default="operator", help="who is importing (recorded in the audit trail)")

    def handle(self, *args, **options):
        try:
            with open(options["spec"], encoding="utf-8-sig") as handle:
                spec_text = handle.read()
        except OSError as error:
            raise CommandError(f"cannot read the spec: {error}") from None
        try:
            params = {
                # The operator runs this on the host: any local path they can read is allowed.
                "source": import_source_check(
                    location=options["source"],
                    postgres=options["postgres"],
                    table=options["table"],
                    query=options["query"],
                    any_local_path=True,
                ),
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
