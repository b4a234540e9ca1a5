import json

from django.core.management.base import BaseCommand

from erasure_platform.evidence.services.anchors import audit_anchor_write
from erasure_platform.evidence.services.transparency_log import audit_log_fold


class Command(BaseCommand):
    help = (
        "Fold pending audit events into the Merkle log, sign a tree head and publish it to the anchor store now "
        "(the dispatcher does both periodically)."
    )

    def handle(self, *args, **options):
        audit_log_fold(wait=True)
        anchor = audit_anchor_write()
        self.stdout.write(json.dumps(anchor, indent=2) if anchor else "nothing new to anchor")
