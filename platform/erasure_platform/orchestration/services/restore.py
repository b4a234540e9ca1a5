"""The restoring retrain of a SISA batch, fanned out: one gpu job per affected shard, then one
finalize job that assembles the version.

The unlearn job first records the deactivated (compliant) candidate, then plans the retrain and
calls batch_restore_start, which creates the shard jobs (idempotency keys
`unlearn-shard:<batch>:<shard>`). Each shard job stores its result in its own state before it
calls batch_shard_retrained; that service takes the batch's row lock and, when every sibling
has a result, creates the finalize job (`unlearn-finalize:<batch>`) exactly once: the checks are
serialised by the lock, and each job's result is committed before its check, so the last check
sees them all. A killed worker's shard job is re-run by the reaper (the lease lapses); a shard
job that already holds its result only repeats the check."""

from __future__ import annotations

from django.db import transaction

from erasure_platform.core import engine
from erasure_platform.core.models import Job
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.orchestration.models import UnlearningBatch
from erasure_platform.orchestration.services.progress import ACTOR
from erasure_platform.registry.models import ModelVersion

SHARD_JOB = "orchestration.retrain_shard"
FINALIZE_JOB = "orchestration.finalize_exact"


def shard_job_key(batch_id, shard: int) -> str:
    return f"unlearn-shard:{batch_id}:{shard}"


def finalize_job_key(batch_id) -> str:
    return f"unlearn-finalize:{batch_id}"


def batch_shard_jobs(batch_id) -> list[Job]:
    return list(Job.objects.filter(kind=SHARD_JOB, idempotency_key__startswith=f"unlearn-shard:{batch_id}:"))


def batch_restore_start(*, batch: UnlearningBatch, shards: list[int], version_id: str) -> list[Job]:
    """Create one retrain job per affected shard (idempotent: the same keys give the same jobs)."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().get(pk=batch.pk)
        existing = batch_shard_jobs(batch.pk)
        if existing:
            return existing  # started before (a resumed unlearn job)
        jobs = [
            job_create(
                kind=SHARD_JOB,
                params={"batch_id": str(batch.pk), "shard": int(shard)},
                actor=batch.started_by,
                idempotency_key=shard_job_key(batch.pk, shard),
            )
            for shard in shards
        ]
        audit_record(
            actor=ACTOR,
            action="batch.restore_started",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={
                "version_id": version_id,
                "shards": [int(s) for s in shards],
                "jobs": [str(job.pk) for job in jobs],
            },
        )
    return jobs


def _has_result(job: Job) -> bool:
    return job.status == Job.Status.SUCCEEDED or bool((job.state or {}).get("result"))


def batch_shard_retrained(*, batch: UnlearningBatch) -> Job | None:
    """A shard job stored its result: when every sibling has one, start the finalize job (once)."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().get(pk=batch.pk)
        key = finalize_job_key(batch.pk)
        existing = Job.objects.filter(idempotency_key=key).first()
        if existing is not None:
            return existing
        siblings = batch_shard_jobs(batch.pk)
        if not siblings or not all(_has_result(job) for job in siblings):
            return None
        job = job_create(
            kind=FINALIZE_JOB, params={"batch_id": str(batch.pk)}, actor=batch.started_by, idempotency_key=key
        )
        audit_record(
            actor=ACTOR,
            action="batch.shards_retrained",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={"shards": sorted(int(j.params["shard"]) for j in siblings), "finalize_job": str(job.pk)},
        )
    return job


def batch_shard_results(*, batch: UnlearningBatch) -> dict[int, dict]:
    """Each shard job's stored result (the engine's ShardResult as JSON), by shard."""
    return {int(job.params["shard"]): (job.state or {}).get("result") for job in batch_shard_jobs(batch.pk)}


def batch_restore_settled(batch_id) -> bool:
    """The batch's restoring retrain needs nothing more: there is none, one of its jobs failed for
    good, or its candidate has a verdict (verification needs the requests' forget sets, so they
    are destroyed only once this holds)."""
    jobs = batch_shard_jobs(batch_id) + list(Job.objects.filter(idempotency_key=finalize_job_key(batch_id)))
    if not jobs or any(job.status in (Job.Status.FAILED, Job.Status.CANCELLED) for job in jobs):
        return True
    return ModelVersion.objects.filter(batch_id=batch_id, method=engine.EXACT_METHOD, verdict__isnull=False).exists()
