import json

from django.core.management.base import BaseCommand

from erasure_platform.core.selectors import audit_chain_verify


class Command(BaseCommand):
    help = "Recompute the audit chain from its genesis; exit 1 and name the first broken link if any."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options):
        result = audit_chain_verify()
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), indent=2))
        elif result.ok:
            self.stdout.write(self.style.SUCCESS(f"audit chain intact: {result.events_checked} events, head {result.head_hash}"))
        else:
            self.stderr.write(
                self.style.ERROR(
                    f"audit chain BROKEN at event sequence {result.first_broken_sequence}"
                    f" (row id {result.first_broken_id}): {result.reason}."
                    f" {result.events_checked} events before it are intact."
                )
            )
        if not result.ok:
            raise SystemExit(1)
