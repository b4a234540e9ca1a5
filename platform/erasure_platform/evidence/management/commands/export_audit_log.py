import json

from django.core.management.base import BaseCommand

from erasure_platform.core.models import AuditLogLeaf, SignedTreeHead


class Command(BaseCommand):
    help = (
        "Write the audit log's signed tree heads and leaf hashes (no event content) as JSON, for "
        "`erasure-engine verify-log --export FILE --public-key KEY` on another machine."
    )

    def handle(self, *args, **options):
        export = {
            "sths": [
                json.loads(signed)
                for signed in SignedTreeHead.objects.order_by("timestamp_ms").values_list("signed", flat=True)
            ],
            "leaf_hashes": list(AuditLogLeaf.objects.order_by("leaf_index").values_list("leaf_hash", flat=True)),
        }
        self.stdout.write(json.dumps(export))
