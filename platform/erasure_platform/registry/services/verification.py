"""Recording unlearning results and verification verdicts on candidate versions."""

from __future__ import annotations

from django.db import transaction

from erasure_engine.errors import InvalidInput
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.registry.models import BatchStatus, ModelOutcome, ModelVersion, UnlearningBatch
from erasure_platform.registry.selectors import verdict_outcome

VERIFY_JOB = "registry.verify"
ACTOR = "system:registry"


def batch_candidate_recorded(*, batch: UnlearningBatch, candidate: ModelVersion) -> UnlearningBatch:
    """The unlearning job made a candidate: verify it next (one job per candidate)."""
    from erasure_platform.registry.services.plans import plan_progress

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
    from erasure_platform.registry.services.plans import plan_complete_if_ready

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
    from erasure_platform.registry.services.plans import plan_progress

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


def exact_unlearning_evidence(version: ModelVersion) -> dict:
    """What proves an exact-unlearning candidate: each shard's final weights digest, split into the
    shards retrained without the erased records and those reused byte for byte from the parent."""
    mine = list((version.digests or {}).get("shards", []))
    parents = list(((version.parent.digests or {}) if version.parent else {}).get("shards", []))
    if not mine or len(mine) != len(parents):
        raise InvalidInput(f"{version} and its parent must both record one weights digest per shard")
    return {
        "method": version.method,
        "parent_version": version.parent.version_id,
        "retrained_checkpoints": {str(i): d for i, (d, p) in enumerate(zip(mine, parents)) if d != p},
        "reused_shards": {str(i): d for i, (d, p) in enumerate(zip(mine, parents)) if d == p},
    }


def version_verdict_record(*, version: ModelVersion, verdict: dict, plots: dict, job=None) -> ModelVersion:
    """Record a candidate's verdict and move its batch to approval. Idempotent: the first verdict stays."""
    from erasure_platform.registry.services.plans import plan_progress

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
