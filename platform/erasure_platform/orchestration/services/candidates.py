"""A batch's candidate: recording what unlearning made, its verification verdict, and what the
approver decided, and moving the batch and its requests on."""

from __future__ import annotations

from django.db import transaction

from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.orchestration.models import BatchStatus, ModelOutcome, UnlearningBatch
from erasure_platform.orchestration.services.plans import plan_complete_if_ready
from erasure_platform.orchestration.services.progress import ACTOR, plan_progress
from erasure_platform.registry.models import ModelVersion
from erasure_platform.registry.selectors import verdict_outcome

VERIFY_JOB = "orchestration.verify"


def batch_candidate_recorded(*, batch: UnlearningBatch, candidate: ModelVersion) -> UnlearningBatch:
    """The unlearning job made a candidate: verify it next (one job per candidate)."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().get(pk=batch.pk)
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
            audit_record(
                actor=ACTOR,
                action="batch.candidate_created",
                entity_type="unlearning_batch",
                entity_id=batch.pk,
                data={"candidate": candidate.version_id, "verify_job": str(job.pk)},
            )
            for member in batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"):
                plan_progress(
                    plan=member.plan,
                    stage="verifying",
                    detail={"model": batch.model.name, "candidate": candidate.version_id, "job": str(job.pk)},
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
    return version


def batch_candidate_released(*, version: ModelVersion) -> UnlearningBatch | None:
    """The approver released the batch's candidate: its requests are done for this model."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().filter(pk=version.batch_id).first()
        if batch is None or batch.status == BatchStatus.RELEASED:
            return batch  # not a batch's candidate, or told before (events may repeat)
        batch.status = BatchStatus.RELEASED
        batch.save(update_fields=["status"])
        members = list(batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"))
        for member in members:
            member.status = ModelOutcome.Status.DONE
            member.version_after = version
            member.save(update_fields=["status", "version_after"])
            plan_progress(
                plan=member.plan,
                stage="released",
                detail={"model": batch.model.name, "version": version.version_id},
            )
        for member in members:
            plan_complete_if_ready(plan=member.plan)
    return batch


def batch_candidate_rejected(*, version: ModelVersion, reason: str) -> UnlearningBatch | None:
    """The approver rejected the batch's candidate: its requests wait for an engineer's next try."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().filter(pk=version.batch_id).first()
        if batch is None or batch.status == BatchStatus.REJECTED:
            return batch
        batch.status = BatchStatus.REJECTED
        batch.save(update_fields=["status"])
        for member in batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"):
            plan_progress(
                plan=member.plan,
                stage="candidate_rejected",
                detail={"model": batch.model.name, "reason": reason[:300]},
            )
    return batch
