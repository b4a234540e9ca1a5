"""Run one outbox relay pass that dies (SIGKILL) right after publishing every due event, before
it can mark any of them as sent — the crash window the outbox must survive."""

import os
import signal

import django

django.setup()

from django.utils import timezone  # noqa: E402

from erasure_platform.core.models import OutboxEvent  # noqa: E402
from erasure_platform.core.services.outbox import outbox_relay_once  # noqa: E402
from workers.publisher import celery_publish  # noqa: E402

due = OutboxEvent.objects.filter(published_at__isnull=True, available_at__lte=timezone.now()).count()
published = 0


def publish_then_die(event):
    global published
    celery_publish(event)
    published += 1
    print(f"published {event.id}", flush=True)
    if published == due:
        print("dying before mark-sent", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


outbox_relay_once(publish=publish_then_die)
raise SystemExit("unreachable: the relay should have been killed")
