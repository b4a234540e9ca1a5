"""Run one outbox relay pass that dies (SIGKILL) right after its first publish,
before it can mark the event as sent — the crash window the outbox must survive."""

import os
import signal

import django

django.setup()

from erasure_platform.core.services.outbox import outbox_relay_once  # noqa: E402
from workers.publisher import celery_publish  # noqa: E402


def publish_then_die(event):
    celery_publish(event)
    print(f"published {event.id}; dying before mark-sent", flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


outbox_relay_once(publish=publish_then_die)
raise SystemExit("unreachable: the relay should have been killed")
