import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections

from erasure_platform.core.services.jobs import jobs_reap_expired
from erasure_platform.core.services.outbox import outbox_relay_once
from workers.publisher import celery_publish

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Relay outbox events to the broker and reap jobs whose worker died (run one or more)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="one relay pass and one reaper pass, then exit")

    def handle(self, *args, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        next_reap = 0.0
        while True:
            close_old_connections()
            try:
                published = outbox_relay_once(publish=celery_publish)
                if time.monotonic() >= next_reap:
                    counts = jobs_reap_expired()
                    if any(counts.values()):
                        logger.warning("reaper: %s", counts)
                    next_reap = time.monotonic() + settings.JOB_REAP_INTERVAL_SECONDS
            except Exception:
                if options["once"]:
                    raise
                logger.exception("dispatcher pass failed; retrying")
                published = 0
                time.sleep(2)
            if options["once"] or stopping:
                return
            if not published:
                time.sleep(settings.OUTBOX_POLL_SECONDS)
