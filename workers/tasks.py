"""Celery tasks: each one hands a database id to a service. Redelivery is harmless.

Services are imported inside the tasks: they read Django models, which load only once the
worker has run django.setup() (Celery's Django fixup does it after this module is imported)."""

from __future__ import annotations

import os
import socket

from erasure_platform.core.queues import DEFAULT_QUEUE
from workers.celery_app import app

RUN_JOB_TASK = "workers.run_job"
CONSUME_EVENT_TASK = "workers.consume_event"


def worker_identity() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@app.task(
    name=RUN_JOB_TASK,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    max_retries=0,  # retries are the job service's business (attempts + backoff), not Celery's
)
def run_job(job_id: str) -> str:
    from erasure_platform.core.services.jobs import job_execute

    return job_execute(job_id=job_id, worker=worker_identity())


@app.task(
    name=CONSUME_EVENT_TASK,
    queue=DEFAULT_QUEUE,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    autoretry_for=(Exception,),
    retry_backoff=True,
    max_retries=5,
)
def consume_event(event_id: str) -> list[str]:
    from erasure_platform.core.services.outbox import outbox_event_consume

    return outbox_event_consume(event_id=event_id)
