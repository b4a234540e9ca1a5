"""The Celery application.

Long-task settings: a message is acknowledged only after its task finishes (acks_late) and
re-queued if the worker process dies (reject_on_worker_lost); each worker process takes one
message at a time (prefetch 1). None of this is what keeps jobs alive, though: job state and
leases live in the database and the reaper re-queues lost jobs (see core/services/jobs.py).

The parent process must never initialise CUDA (forked pool children would inherit a broken
context), so nothing here or in workers.tasks imports torch at module level. The worker's parent
does import the heavy engine (torch, transformers: no CUDA) when it starts, before the pool forks:
the children share it and no job pays the import (the web role never imports this module and
starts without it; see core/engine.py).
"""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init
from kombu import Queue

from erasure_platform.core import engine
from erasure_platform.core.queues import ALL_QUEUES, DEFAULT_QUEUE

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "erasure_platform.settings")

app = Celery("erasure", include=["workers.tasks"])
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(
    task_queues=[Queue(name) for name in ALL_QUEUES],
    task_default_queue=DEFAULT_QUEUE,
    task_acks_late=True,
    task_reject_on_worker_lost=True,
    worker_prefetch_multiplier=1,
    task_track_started=False,
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
    timezone="UTC",
)


@worker_init.connect
def load_the_engine(**_) -> None:
    """A worker trains, unlearns and verifies: resolve every heavy engine name at its start."""
    engine.load_heavy()
