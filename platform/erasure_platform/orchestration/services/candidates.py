"""A batch's candidate: recording what unlearning made, its verification verdict, and what the
approver decided, and moving the batch and its requests on."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from erasure_platform.core import engine
from erasure_platform.core.models import Job
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan, ModelOutcome, UnlearningBatch
from erasure_platform.orchestration.services import restore
from erasure_platform.orchestration.services.plans import plan_complete_if_ready, plan_forget_sets_destroy_settled
from erasure_platform.orchestration.services.progress import ACTOR, plan_progress
from erasure_platform.registry.models import DatasetVersion, ModelVersion, VersionStatus
from erasure_platform.registry.selectors import verdict_outcome

VERIFY_JOB = "orchestration.verify"
COMPLIANT_VERSION_READY = "compliant_version_ready"  # the request's timeline stage, with its seconds


def _seconds(later, earlier) -> float | None:
    return round((later - earlier).total_seconds(), 3) if later and earlier else None


def _erased_at(plan: ErasurePlan):
    """When the plan's datasets were erased: the newest dataset version its erasure made."""
    times = [
        DatasetVersion.objects.filter(dataset__name=entry.get("dataset"), version_id=entry.get("version_after"))
        .values_list("created_at", flat=True)
        .first()
        for entry in plan.datasets or []
    ]
    times = [t for t in times if t is not None]
    return max(times) if times else None


def time_to_compliance(*, plan: ErasurePlan, at) -> dict:
    """Seconds from the grant (the plan's creation, when the grant reached orchestration) and from
    the plan's dataset erasure to `at`."""
    return {"seconds_from_grant": _seconds(at, plan.created_at), "seconds_from_erasure": _seconds(at, _erased_at(plan))}


def batch_candidate_recorded(
    *, batch: UnlearningBatch, candidate: ModelVersion, compliant_at_once: bool = False
) -> UnlearningBatch:
    """The unlearning job made a candidate: verify it next (one job per candidate).

    A SISA batch makes two: first the deactivated version (`compliant_at_once`: exact by
    construction, made in about a second), whose arrival is each request's time to compliance;
    then the restoring retrain's full-quality version. The batch moves on with the first
    candidate; the second only gets its verification (and its own release decision)."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().get(pk=batch.pk)
        if ModelVersion.objects.filter(pk=candidate.pk, verification_job__isnull=False).exists():
            return batch  # recorded before (a resumed job)
        job = job_create(
            kind=VERIFY_JOB,
            params={"version_id": str(candidate.pk)},
            actor=batch.started_by,
            idempotency_key=f"verify:{candidate.pk}",
        )
        ModelVersion.objects.filter(pk=candidate.pk).update(verification_job=job)
        if batch.status == BatchStatus.UNLEARNING:
            batch.status = BatchStatus.VERIFYING
            batch.save(update_fields=["status"])
            members = list(batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"))
            timings = {}
            if compliant_at_once:
                timings = {m.plan.request_id: time_to_compliance(plan=m.plan, at=candidate.created_at) for m in members}
            audit_record(
                actor=ACTOR,
                action="batch.candidate_created",
                entity_type="unlearning_batch",
                entity_id=batch.pk,
                data={
                    "candidate": candidate.version_id,
                    "method": candidate.method,
                    "verify_job": str(job.pk),
                    **({"time_to_compliance": timings} if compliant_at_once else {}),
                },
            )
            for member in members:
                if compliant_at_once:
                    plan_progress(
                        plan=member.plan,
                        stage=COMPLIANT_VERSION_READY,
                        detail={
                            "model": batch.model.name,
                            "candidate": candidate.version_id,
                            "method": candidate.method,
                            "made_in_seconds": (candidate.cost or {}).get("time_to_compliance_seconds"),
                            **timings[member.plan.request_id],
                        },
                    )
                plan_progress(
                    plan=member.plan,
                    stage="verifying",
                    detail={"model": batch.model.name, "candidate": candidate.version_id, "job": str(job.pk)},
                )
        else:
            audit_record(
                actor=ACTOR,
                action="batch.restoring_candidate_created",
                entity_type="unlearning_batch",
                entity_id=batch.pk,
                data={
                    "candidate": candidate.version_id,
                    "method": candidate.method,
                    "verify_job": str(job.pk),
                    "batch_status": batch.status,
                },
            )
    return batch


def batch_nothing_to_unlearn(*, batch: UnlearningBatch, version: ModelVersion) -> None:
    """The production version is already trained without the erased records: members are done."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().get(pk=batch.pk)
        batch.status = BatchStatus.NOTHING_TO_DO
        batch.save(update_fields=["status"])
        members = list(batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"))
        ModelOutcome.objects.filter(pk__in=[m.pk for m in members]).update(
            status=ModelOutcome.Status.DONE, version_after=version
        )
        audit_record(
            actor=ACTOR,
            action="batch.nothing_to_unlearn",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={"version": version.version_id},
        )
        for member in members:
            plan_complete_if_ready(plan=member.plan)


def batch_failed(*, batch: UnlearningBatch, error: str) -> None:
    with transaction.atomic():
        UnlearningBatch.objects.filter(pk=batch.pk).update(status=BatchStatus.FAILED, error=error[:2000])
        audit_record(
            actor=ACTOR,
            action="batch.failed",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={"error": error[:500]},
        )
        for member in batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"):
            plan_progress(
                plan=member.plan, stage="unlearning_failed", detail={"model": batch.model.name, "error": error[:300]}
            )


def version_verdict_record(*, version: ModelVersion, verdict: dict, plots: dict, job=None) -> ModelVersion:
    """Record a candidate's verdict and move its batch to approval. Idempotent: the first verdict stays."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if version.verdict is not None:
            # One verification job per candidate, one verdict: a job resumed after its worker died
            # between recording the verdict and finishing must not record (and announce) it again.
            return version
        version.verdict = verdict
        version.verdict_passed = bool(verdict.get("passed"))
        version.plots = plots
        version.save(update_fields=["verdict", "verdict_passed", "plots"])
        audit_record(
            actor=ACTOR,
            action="model_version.verified",
            entity_type="model_version",
            entity_id=version.pk,
            data={
                "passed": version.verdict_passed,
                "outcome": verdict_outcome(verdict),
                "failed_metrics": verdict.get("failed_metrics", []),
                "inconclusive_metrics": verdict.get("inconclusive_metrics", []),
                "inputs": verdict.get("inputs", {}),
                "job": str(job.pk) if job else None,
            },
        )
        if version.batch_id:
            batch = UnlearningBatch.objects.select_for_update().get(pk=version.batch_id)
            if batch.status == BatchStatus.VERIFYING:
                batch.status = BatchStatus.AWAITING_APPROVAL
                batch.save(update_fields=["status"])
            for member in batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"):
                plan_progress(
                    plan=member.plan,
                    stage="awaiting_approval",
                    detail={
                        "model": batch.model.name,
                        "candidate": version.version_id,
                        "verdict_passed": version.verdict_passed,
                        "verdict_outcome": verdict_outcome(verdict),
                    },
                )
    if version.batch_id and version.method == engine.EXACT_METHOD:
        plan_forget_sets_destroy_settled(batch_id=version.batch_id)  # the restoring retrain is verified
    return version


def batch_candidate_released(*, version: ModelVersion) -> UnlearningBatch | None:
    """The approver released a candidate of the batch: its requests are done for this model.

    The first compliant release completes them; a later release of another candidate of the same
    batch (the restoring retrain after the deactivated version) is a quality update: audited,
    and the requests stay completed."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().filter(pk=version.batch_id).first()
        if batch is None:
            return batch  # not a batch's candidate
        if batch.status == BatchStatus.RELEASED:
            if not ModelOutcome.objects.filter(batch=batch, version_after=version).exists():
                audit_record(
                    actor=ACTOR,
                    action="batch.quality_restored",
                    entity_type="unlearning_batch",
                    entity_id=batch.pk,
                    data={"version": version.version_id, "method": version.method},
                )
            return batch
        batch.status = BatchStatus.RELEASED
        batch.save(update_fields=["status"])
        members = list(batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"))
        released_at = timezone.now()
        for member in members:
            member.status = ModelOutcome.Status.DONE
            member.version_after = version
            member.save(update_fields=["status", "version_after"])
            plan_progress(
                plan=member.plan,
                stage="released",
                detail={
                    "model": batch.model.name,
                    "version": version.version_id,
                    "method": version.method,
                    **time_to_compliance(plan=member.plan, at=released_at),
                },
            )
        for member in members:
            plan_complete_if_ready(plan=member.plan)
    return batch


def _other_candidate_coming(batch: UnlearningBatch, version: ModelVersion) -> bool:
    """Another candidate of the batch is still open, or the restoring retrain is still making one."""
    others = ModelVersion.objects.filter(batch=batch, status=VersionStatus.CANDIDATE).exclude(pk=version.pk)
    if others.exists():
        return True
    jobs = restore.batch_shard_jobs(batch.pk) + list(
        Job.objects.filter(idempotency_key=restore.finalize_job_key(batch.pk))
    )
    return any(job.status not in Job.FINISHED for job in jobs)


def batch_candidate_rejected(*, version: ModelVersion, reason: str) -> UnlearningBatch | None:
    """The approver rejected a candidate of the batch: its requests wait for the batch's other
    candidate when one is open or still being made (the restoring retrain), otherwise for an
    engineer's next try. A released batch stays released."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().filter(pk=version.batch_id).first()
        if batch is None or batch.status in (BatchStatus.REJECTED, BatchStatus.RELEASED):
            return batch
        waiting = _other_candidate_coming(batch, version)
        if waiting:
            others = ModelVersion.objects.filter(batch=batch, status=VersionStatus.CANDIDATE).exclude(pk=version.pk)
            if not others.exists():
                batch.status = BatchStatus.UNLEARNING  # the restoring candidate moves it on when it comes
            elif not others.filter(verdict__isnull=False).exists():
                batch.status = BatchStatus.VERIFYING
        else:
            batch.status = BatchStatus.REJECTED
        batch.save(update_fields=["status"])
        audit_record(
            actor=ACTOR,
            action="batch.candidate_rejected",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={"candidate": version.version_id, "status": batch.status, "waiting_for_other_candidate": waiting},
        )
        for member in batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"):
            plan_progress(
                plan=member.plan,
                stage="candidate_rejected",
                detail={"model": batch.model.name, "reason": reason[:300], "waiting_for_other_candidate": waiting},
            )
    return batch


def batch_restore_failed(*, batch: UnlearningBatch, error: str) -> None:
    """A shard or finalize job of the restoring retrain failed for good. With a compliant candidate
    (the deactivated version) the requests are unaffected: audited; otherwise the batch failed."""
    compliant = (
        ModelVersion.objects.filter(batch=batch)
        .exclude(status=VersionStatus.REJECTED)
        .exclude(method=engine.EXACT_METHOD)
        .exists()
    )
    if not compliant:
        batch_failed(batch=batch, error=error)
        return
    with transaction.atomic():
        audit_record(
            actor=ACTOR,
            action="batch.restore_failed",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={"error": error[:500]},
        )


def batch_restore_job_failed(*, job_id) -> None:
    """A shard or finalize job failed for good (after its attempts, or the reaper gave up): the
    failure is recorded and forget sets kept for its verification are destroyed."""
    job = Job.objects.filter(pk=job_id).first()
    batch = UnlearningBatch.objects.filter(pk=(job.params or {}).get("batch_id")).first() if job else None
    if batch is None:
        return
    batch_restore_failed(batch=batch, error=job.error or f"job {job.pk} failed")
    plan_forget_sets_destroy_settled(batch_id=batch.pk)
