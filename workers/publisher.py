"""How the outbox relay hands events to Celery.

The dispatcher names this function in settings.OUTBOX_PUBLISHER: the platform never imports
`workers`, the workers import the platform. Only the dispatcher imports this module, after
django.setup() (the outbox service reads models); Celery workers never do."""

from __future__ import annotations

from erasure_platform.core import topics
from erasure_platform.core.queues import ALL_QUEUES, DEFAULT_QUEUE
from erasure_platform.core.services.outbox import consumers_for
from workers.celery_app import app
from workers.tasks import CONSUME_EVENT_TASK, RUN_JOB_TASK


def celery_publish(event) -> None:
    """Publish one outbox event: job.run goes to the job's queue, all else to consumers."""
    if event.topic == topics.JOB_RUN:
        queue = event.payload.get("queue", DEFAULT_QUEUE)
        if queue not in ALL_QUEUES:
            raise ValueError(f"outbox event {event.id} names unknown queue {queue!r}")
        app.send_task(RUN_JOB_TASK, kwargs={"job_id": event.payload["job_id"]}, queue=queue)
        return
    if consumers_for(event.topic):
        app.send_task(CONSUME_EVENT_TASK, kwargs={"event_id": str(event.id)}, queue=DEFAULT_QUEUE)
    # else: nobody listens; recording it as published is all there is to do
