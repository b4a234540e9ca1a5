import json

from django.core.management.base import BaseCommand

from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors


class Command(BaseCommand):
    help = (
        "Recompute the audit chain from its genesis and check it against every signed anchor in the "
        "object store; exit 1 naming the first broken link or rewritten anchor."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args, **options):
        result = audit_chain_verify_with_anchors()
        chain = result.chain
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), indent=2))
        elif result.ok:
            self.stdout.write(self.style.SUCCESS(
                f"audit chain intact: {chain['events_checked']} events, head {chain['head_hash']}; "
                f"{result.anchors_checked} anchor(s) agree"
            ))
        else:
            if not chain["ok"]:
                self.stderr.write(self.style.ERROR(
                    f"audit chain BROKEN at event sequence {chain['first_broken_sequence']}"
                    f" (row id {chain['first_broken_id']}): {chain['reason']}."
                    f" {chain['events_checked']} events before it are intact."
                ))
            for problem in result.problems:
                self.stderr.write(self.style.ERROR(problem))
        if not result.ok:
            raise SystemExit(1)
