import json

from django.core.management.base import BaseCommand

from erasure_platform.evidence.services.anchors import audit_anchor_write


class Command(BaseCommand):
    help = "Sign the audit chain head into the object store now (the dispatcher also does it periodically)."

    def handle(self, *args, **options):
        anchor = audit_anchor_write()
        self.stdout.write(json.dumps(anchor, indent=2) if anchor else "nothing new to anchor")
