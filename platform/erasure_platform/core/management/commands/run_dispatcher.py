import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string

from erasure_platform.core.periodic import periodic_work
from erasure_platform.core.services.outbox import outbox_relay_once

logger = logging.getLogger(__name__)


class Command(BaseCommand):
    help = "Relay outbox events to the broker and run periodic work (job reaper, audit anchors)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--once", action="store_true", help="one relay pass and every periodic task once, then exit"
        )

    def handle(self, *args, **options):
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        publish = import_string(settings.OUTBOX_PUBLISHER)
        next_run = {work.name: 0.0 for work in periodic_work()}
        while True:
            close_old_connections()
            published = 0
            try:
                published = outbox_relay_once(publish=publish)
            except Exception:
                if options["once"]:
                    raise
                logger.exception("outbox relay pass failed; retrying")
                time.sleep(2)
            for work in periodic_work():
                if time.monotonic() < next_run[work.name]:
                    continue
                next_run[work.name] = time.monotonic() + getattr(settings, work.interval_setting)
                try:
                    outcome = work.func()
                    if outcome:
                        logger.info("%s: %s", work.name, outcome)
                except Exception:
                    if options["once"]:
                        raise
                    logger.exception("periodic work %s failed; it runs again next interval", work.name)
            if options["once"] or stopping:
                return
            if not published:
                time.sleep(settings.OUTBOX_POLL_SECONDS)
