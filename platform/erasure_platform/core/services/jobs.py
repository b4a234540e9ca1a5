"""Jobs: durable records of long work, claimed under a lease that a heartbeat renews.

A job's truth is its row, not the broker message: a worker claims the job (lease), renews the
lease from a heartbeat thread while the handler runs, and records durable progress in
`state` so a retry resumes instead of starting over. If the worker dies, the lease lapses
and jobs_reap_expired puts the job back on its queue (through the outbox).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from erasure_platform.core import topics
from erasure_platform.core.audit_actions import AuditAction
from erasure_platform.core.errors import ApplicationError, Conflict, NotFound
from erasure_platform.core.models import Job
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import outbox_publish

logger = logging.getLogger(__name__)


# The audit action of each way a job ends (the status a worker finishes it with).
FINISHED_ACTIONS = {
    Job.Status.SUCCEEDED: AuditAction.JOB_SUCCEEDED,
    Job.Status.FAILED: AuditAction.JOB_FAILED,
    Job.Status.CANCELLED: AuditAction.JOB_CANCELLED,
}


class LeaseLost(Exception):
    """Another worker owns the job now (our lease lapsed): stop without writing results."""


class JobFailed(Exception):
    """A handler's permanent failure: no retry will help (bad input, missing artifact)."""


@dataclass
class JobContext:
    job_id: str
    kind: str
    params: dict
    state: dict
    attempt: int
    worker: str
    _lease_lost: threading.Event

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress; also the point where a job notices it lost its lease."""
        if self._lease_lost.is_set():
            raise LeaseLost(self.job_id)
        fraction = min(max(float(fraction), 0.0), 1.0)
        updated = Job.objects.filter(pk=self.job_id, lease_owner=self.worker, status=Job.Status.RUNNING).update(
            progress=fraction, progress_message=message[:300], heartbeat_at=timezone.now()
        )
        if not updated:
            raise LeaseLost(self.job_id)

    def job(self) -> Job | None:
        """This job's row (who created it, for attribution)."""
        return Job.objects.filter(pk=self.job_id).first()

    def save_state(self, **changes) -> None:
        """Durably record finished work so that a retry resumes after it."""
        self.state.update(changes)
        updated = Job.objects.filter(pk=self.job_id, lease_owner=self.worker, status=Job.Status.RUNNING).update(
            state=self.state, heartbeat_at=timezone.now()
        )
        if not updated:
            raise LeaseLost(self.job_id)


class SampleProgress:
    """An engine progress callback (samples done) reported as the job's progress between `start`
    and `end`, at most once a second (each report is a database write)."""

    def __init__(self, context: JobContext, total: int, start: float, end: float, message: str):
        self.context, self.total, self.start, self.end, self.message = context, max(total, 1), start, end, message
        self.done = 0
        self.last = 0.0

    def __call__(self, samples: int) -> None:
        self.done += samples
        now = time.monotonic()
        if now - self.last >= 1.0:
            self.last = now
            fraction = self.start + (self.end - self.start) * min(self.done / self.total, 1.0)
            self.context.progress(fraction, self.message)


JobHandler = Callable[[JobContext], dict | None]
_handlers: dict[str, tuple[str, JobHandler]] = {}


def job_handler(kind: str, *, queue: str):
    """Register the function that executes jobs of `kind` on `queue` (decorator)."""

    def register(func: JobHandler) -> JobHandler:
        _handlers[kind] = (queue, func)
        return func

    return register


def job_kinds() -> dict[str, str]:
    return {kind: queue for kind, (queue, _) in _handlers.items()}


def job_create(
    *, kind: str, params: dict, actor: str, idempotency_key: str | None = None, max_attempts: int | None = None
) -> Job:
    """Create a job and announce it, in one transaction. Same idempotency key → same job."""
    if kind not in _handlers:
        raise ApplicationError(
            f"unknown job kind {kind!r}", code="unknown_job_kind", details={"known": sorted(_handlers)}
        )
    if idempotency_key:
        existing = Job.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    queue, _ = _handlers[kind]
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            queue=queue,
            params=params,
            created_by=actor,
            idempotency_key=idempotency_key or None,
            max_attempts=max_attempts or settings.JOB_MAX_ATTEMPTS,
        )
        audit_record(
            actor=actor,
            action="job.created",
            entity_type="job",
            entity_id=job.id,
            data={"kind": kind, "params": params},
        )
        outbox_publish(topic=topics.JOB_RUN, payload={"job_id": str(job.id), "queue": queue})
    return job


def job_claim(*, job_id, worker: str) -> Job | None:
    """Take the job's lease. None when it is finished or another live worker holds it."""
    now = timezone.now()
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        if job.status in Job.FINISHED:
            return None
        if job.status == Job.Status.RUNNING and job.lease_expires_at and job.lease_expires_at > now:
            return None
        job.status = Job.Status.RUNNING
        job.attempts += 1
        job.lease_owner = worker
        job.lease_expires_at = now + timedelta(seconds=settings.JOB_LEASE_SECONDS)
        job.heartbeat_at = now
        job.started_at = job.started_at or now
        job.save()
        audit_record(
            actor=f"worker:{worker}",
            action="job.started",
            entity_type="job",
            entity_id=job.id,
            data={"attempt": job.attempts},
        )
    return job


def job_heartbeat(*, job_id, worker: str) -> bool:
    """Extend the lease; False when the lease is no longer ours."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, lease_owner=worker, status=Job.Status.RUNNING).update(
            lease_expires_at=now + timedelta(seconds=settings.JOB_LEASE_SECONDS), heartbeat_at=now
        )
    )


def _job_finish(*, job_id, worker: str, status: str, result: dict | None = None, error: str = "") -> bool:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, lease_owner=worker, status=Job.Status.RUNNING).first()
        if job is None:
            return False
        job.status = status
        job.result = result
        job.error = error
        job.finished_at = timezone.now()
        if status == Job.Status.SUCCEEDED:
            job.progress = 1.0
        job.lease_expires_at = None
        job.save()
        audit_record(
            actor=f"worker:{worker}",
            action=FINISHED_ACTIONS[status],
            entity_type="job",
            entity_id=job.id,
            data={"attempt": job.attempts, "error": error[:500]} if error else {"attempt": job.attempts},
        )
        outbox_publish(topic=topics.JOB_FINISHED[status], payload={"job_id": str(job.id), "kind": job.kind})
    return True


def _job_retry_or_fail(*, job_id, worker: str, error: str) -> None:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id, lease_owner=worker, status=Job.Status.RUNNING).first()
        if job is None:
            return
        if job.attempts < job.max_attempts:
            job.status = Job.Status.QUEUED
            job.lease_owner = ""
            job.lease_expires_at = None
            job.error = error
            job.save()
            audit_record(
                actor=f"worker:{worker}",
                action="job.retry_scheduled",
                entity_type="job",
                entity_id=job.id,
                data={"attempt": job.attempts, "error": error[:500]},
            )
            backoff = min(60, 2**job.attempts)
            outbox_publish(
                topic=topics.JOB_RUN, payload={"job_id": str(job.id), "queue": job.queue}, delay_seconds=backoff
            )
            return
    # Attempts exhausted: a permanent failure.
    _job_finish(job_id=job_id, worker=worker, status=Job.Status.FAILED, error=error)


class _Heartbeat(threading.Thread):
    """Renews the lease while a handler runs; flags the loss so the handler stops."""

    def __init__(self, job_id, worker: str, lost: threading.Event):
        super().__init__(daemon=True, name=f"heartbeat-{job_id}")
        self.job_id, self.worker, self.lost = job_id, worker, lost
        self.stopped = threading.Event()

    def run(self) -> None:
        interval = max(settings.JOB_LEASE_SECONDS / 3, 0.2)
        try:
            while not self.stopped.wait(interval):
                if not job_heartbeat(job_id=self.job_id, worker=self.worker):
                    self.lost.set()
                    return
        finally:
            connection.close()


def job_execute(*, job_id, worker: str) -> str:
    """Claim and run a job to its end. Safe to call for any delivery of any message."""
    job = job_claim(job_id=job_id, worker=worker)
    if job is None:
        return "skipped"
    if job.kind not in _handlers:
        _job_finish(
            job_id=job.id, worker=worker, status=Job.Status.FAILED, error=f"no handler for job kind {job.kind!r}"
        )
        return Job.Status.FAILED
    _, handler = _handlers[job.kind]
    lost = threading.Event()
    heartbeat = _Heartbeat(job.id, worker, lost)
    context = JobContext(str(job.id), job.kind, job.params, dict(job.state), job.attempts, worker, lost)
    heartbeat.start()
    try:
        result = handler(context) or {}
    except LeaseLost:
        logger.warning("job %s: lease lost; another worker takes over", job.id)
        return "lease_lost"
    except (JobFailed, ApplicationError) as error:
        _job_finish(job_id=job.id, worker=worker, status=Job.Status.FAILED, error=str(error))
        return Job.Status.FAILED
    except Exception as error:  # an unexpected failure may be transient: retry within the budget
        logger.exception("job %s failed on attempt %d", job.id, job.attempts)
        _job_retry_or_fail(job_id=job.id, worker=worker, error=f"{type(error).__name__}: {error}")
        return "retry"
    finally:
        heartbeat.stopped.set()
        heartbeat.join()
    if not _job_finish(job_id=job.id, worker=worker, status=Job.Status.SUCCEEDED, result=result):
        return "lease_lost"
    return Job.Status.SUCCEEDED


def job_cancel(*, job_id, actor: str) -> Job:
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"job {job_id} does not exist")
        if job.status in Job.FINISHED:
            raise Conflict(f"job {job_id} is already {job.status}")
        job.status = Job.Status.CANCELLED
        job.lease_owner = ""
        job.lease_expires_at = None
        job.finished_at = timezone.now()
        job.save()
        audit_record(actor=actor, action="job.cancelled", entity_type="job", entity_id=job.id)
    return job


def jobs_reap_expired(*, stale_queued_seconds: int | None = None) -> dict:
    """Requeue running jobs whose lease lapsed (worker died) and re-announce queued jobs
    no worker picked up (message lost). Returns counts."""
    now = timezone.now()
    requeued = failed = reannounced = 0
    with transaction.atomic():
        expired = list(
            Job.objects.select_for_update(skip_locked=True).filter(status=Job.Status.RUNNING, lease_expires_at__lt=now)
        )
        for job in expired:
            lost_worker = job.lease_owner
            job.lease_owner = ""
            job.lease_expires_at = None
            if job.attempts >= job.max_attempts:
                job.status = Job.Status.FAILED
                job.error = f"worker {lost_worker} stopped renewing its lease; {job.attempts} attempt(s) used"
                job.finished_at = now
                job.save()
                audit_record(
                    actor="system:reaper",
                    action="job.failed",
                    entity_type="job",
                    entity_id=job.id,
                    data={"lost_worker": lost_worker},
                )
                outbox_publish(topic=topics.JOB_FAILED, payload={"job_id": str(job.id), "kind": job.kind})
                failed += 1
            else:
                job.status = Job.Status.QUEUED
                job.save()
                audit_record(
                    actor="system:reaper",
                    action="job.requeued",
                    entity_type="job",
                    entity_id=job.id,
                    data={"lost_worker": lost_worker, "attempts": job.attempts},
                )
                outbox_publish(topic=topics.JOB_RUN, payload={"job_id": str(job.id), "queue": job.queue})
                requeued += 1
        stale_after = stale_queued_seconds if stale_queued_seconds is not None else settings.JOB_REANNOUNCE_SECONDS
        stale = Job.objects.select_for_update(skip_locked=True).filter(
            status=Job.Status.QUEUED, updated_at__lt=now - timedelta(seconds=stale_after)
        )
        for job in stale:
            job.save(update_fields=["updated_at"])
            outbox_publish(topic=topics.JOB_RUN, payload={"job_id": str(job.id), "queue": job.queue})
            reannounced += 1
    return {"requeued": requeued, "failed": failed, "reannounced": reannounced}
