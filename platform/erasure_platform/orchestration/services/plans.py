"""From a granted request to erased datasets and batched model work, and on to completion.

The registry never calls back here: a release or rejection reaches a plan as an event
(orchestration/events.py), a job's result as the job's return (orchestration/jobs.py)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_has_role
from erasure_platform.core import topics
from erasure_platform.core.errors import ApplicationError, Conflict, PermissionDenied
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.core.services.outbox import outbox_publish
from erasure_platform.orchestration.forget_sets import forget_set_destroy
from erasure_platform.orchestration.models import ErasurePlan, ModelOutcome
from erasure_platform.orchestration.services.batches import batch_add
from erasure_platform.orchestration.services.progress import ACTOR, plan_progress
from erasure_platform.orchestration.services.restore import batch_restore_settled
from erasure_platform.registry import selectors as registry_selectors
from erasure_platform.registry.models import Model, SubjectRecord
from erasure_platform.registry.selectors import PROOF_INCONCLUSIVE, PROOF_OVERRIDDEN, release_proof, verdict_outcome

logger = logging.getLogger(__name__)

ERASE_JOB = "orchestration.erase_datasets"


def _scope_record_ids(scope: dict) -> list[str] | None:
    if not isinstance(scope, dict) or scope.get("type") not in ("all", "records"):
        raise ApplicationError(
            "scope must be {'type': 'all'} or {'type': 'records', 'record_ids': [...]}", code="invalid_scope"
        )
    if scope["type"] == "all":
        return None
    ids = scope.get("record_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) and i for i in ids):
        raise ApplicationError("a records scope needs a non-empty list of record ids", code="invalid_scope")
    return sorted(set(ids))


def plan_erasure(*, request_id: str, subject_key: str, scope: dict, deadline_at, actor: str = ACTOR) -> ErasurePlan:
    """Consume a granted request: find what holds the subject's data (lineage), start the dataset
    erasure job, and record one pending outcome per affected model. Idempotent per request."""
    existing = ErasurePlan.objects.filter(request_id=str(request_id)).first()
    if existing is not None:
        return existing
    if not isinstance(subject_key, str) or len(subject_key) != 64:
        raise ApplicationError("subject_key must be the 64-hex keyed hash", code="invalid_subject_key")
    record_ids = _scope_record_ids(scope)
    subject_keys = registry_selectors.subject_keys_linked(subject_key)
    if record_ids:
        # A scope names records; only the subject's own are erased (never someone else's by id).
        owned = set(
            SubjectRecord.objects.filter(subject_key__in=subject_keys, record_id__in=record_ids).values_list(
                "record_id", flat=True
            )
        )
        record_ids = sorted(owned) or ["<none>"]
    if isinstance(deadline_at, str):
        deadline_at = parse_datetime(deadline_at)
    if not isinstance(deadline_at, datetime):
        raise ApplicationError("deadline_at must be an ISO date-time", code="invalid_deadline")
    datasets = registry_selectors.current_versions_holding(subject_keys=subject_keys, record_ids=record_ids)
    models = registry_selectors.models_affected(subject_keys=subject_keys, record_ids=record_ids)
    with transaction.atomic():
        plan = ErasurePlan.objects.create(
            request_id=str(request_id),
            subject_key=subject_key,
            subject_keys=subject_keys,
            scope={"type": "records", "record_ids": record_ids} if record_ids else {"type": "all"},
            deadline_at=deadline_at,
        )
        for model, version in models:
            ModelOutcome.objects.create(plan=plan, model=model, version_before=version)
        detail = {"datasets": [str(v) for v in datasets], "models": [m.name for m, _ in models]}
        audit_record(
            actor=actor,
            action="erasure_plan.created",
            entity_type="erasure_plan",
            entity_id=plan.pk,
            # linked_keys: how many other keys of the person the identity maps gave (never the keys).
            data={"request_id": plan.request_id, **detail, "linked_keys": len(subject_keys) - 1},
        )
        plan_progress(plan=plan, stage="planned", detail=detail)
        plan.erase_job = job_create(
            kind=ERASE_JOB, params={"plan_id": str(plan.pk)}, actor=actor, idempotency_key=f"erase:{plan.pk}"
        )
        plan.save(update_fields=["erase_job"])
    return plan


def plan_subject_keys(plan: ErasurePlan) -> list[str]:
    """Every key of the plan's person (plans made before identity maps hold the requester's only)."""
    return list(plan.subject_keys) or [plan.subject_key]


def plan_record_ids(plan: ErasurePlan) -> list[str] | None:
    return plan.scope.get("record_ids") if plan.scope.get("type") == "records" else None


def plan_datasets_erased(
    *, plan: ErasurePlan, datasets: list[dict], forget_set_key: str, actor: str = ACTOR
) -> ErasurePlan:
    """The erase job finished: record what was removed, then batch the model work."""
    with transaction.atomic():
        plan = ErasurePlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != ErasurePlan.Status.ERASING:
            return plan
        plan.datasets = datasets
        plan.forget_set_key = forget_set_key
        plan.status = ErasurePlan.Status.AWAITING_MODELS
        plan.save()
        audit_record(
            actor=actor,
            action="erasure_plan.datasets_erased",
            entity_type="erasure_plan",
            entity_id=plan.pk,
            data={"request_id": plan.request_id, "datasets": datasets},
        )
        plan_progress(
            plan=plan,
            stage="datasets_erased",
            detail={
                "datasets": [
                    {"dataset": d["dataset"], "version_after": d["version_after"], "removed": len(d["removed"])}
                    for d in datasets
                ]
            },
        )
        for outcome in plan.outcomes.filter(status=ModelOutcome.Status.PENDING).select_related("model"):
            batch = batch_add(outcome=outcome, actor=actor)
            plan_progress(
                plan=plan,
                stage="batched",
                detail={"model": outcome.model.name, "batch": str(batch.pk), "closes_at": batch.closes_at.isoformat()},
            )
        plan_complete_if_ready(plan=plan)
    return plan


def plan_fail(*, plan: ErasurePlan, error: str, actor: str = ACTOR) -> None:
    with transaction.atomic():
        ErasurePlan.objects.filter(pk=plan.pk).update(status=ErasurePlan.Status.FAILED)
        audit_record(
            actor=actor,
            action="erasure_plan.failed",
            entity_type="erasure_plan",
            entity_id=plan.pk,
            data={"error": error[:500]},
        )
        plan_progress(plan=plan, stage="failed", detail={"error": error[:300]})


def _outcome_entry(outcome: ModelOutcome) -> dict:
    if outcome.status == ModelOutcome.Status.SKIPPED:
        return {
            "model": outcome.model.name,
            "version_before": outcome.version_before.version_id,
            "skipped_reason": outcome.skipped_reason,
            "recorded_by": outcome.recorded_by,
        }
    after = outcome.version_after
    decision = after.decisions.filter(decision="approve").order_by("-id").first() if after else None
    verdict = after.verdict or {} if after else {}
    return {
        "model": outcome.model.name,
        "version_before": outcome.version_before.version_id,
        "version_after": after.version_id if after else None,
        "method": after.method if after else None,
        "verdict": {
            "passed": verdict.get("passed"),
            "outcome": verdict_outcome(verdict),
            "failed_metrics": verdict.get("failed_metrics", []),
            "inconclusive_metrics": verdict.get("inconclusive_metrics", []),
            "metrics": len(verdict.get("metrics", [])),
            "overridden": bool(decision and decision.overrode_failed_verdict),
            # Which kind of proof stands behind the release, and the approver's words when it needed them.
            "proof": release_proof(verdict),
            "justification": decision.reason
            if decision and release_proof(verdict) in (PROOF_INCONCLUSIVE, PROOF_OVERRIDDEN)
            else None,
        }
        if verdict
        else {},
        "approved_by": decision.approver if decision else None,
        "released_at": decision.at.isoformat() if decision else None,
    }


def plan_complete_if_ready(*, plan: ErasurePlan, actor: str = ACTOR) -> bool:
    """Complete the request once datasets are erased and every model is done or skipped."""
    with transaction.atomic():
        plan = ErasurePlan.objects.select_for_update().get(pk=plan.pk)
        if plan.status != ErasurePlan.Status.AWAITING_MODELS:
            return False
        outcomes = list(plan.outcomes.select_related("model", "version_before", "version_after"))
        if any(o.status == ModelOutcome.Status.PENDING for o in outcomes):
            return False
        payload = {
            "request_id": plan.request_id,
            "datasets": [
                {k: d[k] for k in ("dataset", "version_before", "version_after", "removed")} for d in plan.datasets
            ],
            "models": [_outcome_entry(o) for o in outcomes],
        }
        plan.status = ErasurePlan.Status.COMPLETED
        plan.completed_at = timezone.now()
        plan.save(update_fields=["status", "completed_at"])
        # The index no longer needs to link the subject to erased records.
        removed = SubjectRecord.objects.filter(
            subject_key__in=plan_subject_keys(plan), erased_in__isnull=False
        ).delete()[0]
        audit_record(
            actor=actor,
            action="erasure_plan.completed",
            entity_type="erasure_plan",
            entity_id=plan.pk,
            data={**payload, "index_rows_removed": removed},
        )
        outbox_publish(topic=topics.REQUEST_ERASURE_COMPLETED, payload=payload)
        outbox_publish(topic=topics.PLAN_COMPLETED, payload={"plan_id": str(plan.pk)})
    return True


def outcome_skip(*, plan: ErasurePlan, model: Model, officer, reason: str) -> ModelOutcome:
    """An officer records why a model is not unlearned for this request (e.g. it never used the
    records, or is being decommissioned). The request may then complete without it."""
    if not user_has_role(officer, Role.OFFICER):
        raise PermissionDenied("only a compliance officer may record why a model is not unlearned")
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ApplicationError("give the reason in at least 10 characters", code="reason_required")
    with transaction.atomic():
        outcome = ModelOutcome.objects.select_for_update().filter(plan=plan, model=model).first()
        if outcome is None:
            raise Conflict(f"model {model.name} is not affected by request {plan.request_id}", code="not_affected")
        if outcome.status != ModelOutcome.Status.PENDING:
            raise Conflict(f"model {model.name} is already {outcome.status} for this request", code="outcome_final")
        outcome.status = ModelOutcome.Status.SKIPPED
        outcome.skipped_reason = reason[:2000]
        outcome.recorded_by = officer.username
        outcome.batch = None
        outcome.save()
        audit_record(
            actor=officer.username,
            action="erasure_plan.model_skipped",
            entity_type="erasure_plan",
            entity_id=plan.pk,
            data={"model": model.name, "reason": outcome.skipped_reason},
        )
        plan_progress(plan=plan, stage="model_skipped", detail={"model": model.name, "reason": outcome.skipped_reason})
        plan_complete_if_ready(plan=plan)
    return outcome


def plan_forget_set_destroy(*, plan: ErasurePlan, actor: str = ACTOR) -> bool:
    """Destroy a completed plan's encrypted forget set, unless a restoring retrain of one of its
    batches still has a candidate to verify (verification attacks it with these records): then
    the retrain's verdict, or its failure, destroys it (plan_forget_sets_destroy_settled)."""
    plan = ErasurePlan.objects.filter(pk=plan.pk).first()
    if plan is None or not plan.forget_set_key or plan.status != ErasurePlan.Status.COMPLETED:
        return False
    waiting = sorted(
        {
            str(b)
            for b in plan.outcomes.exclude(batch=None).values_list("batch_id", flat=True)
            if not batch_restore_settled(b)
        }
    )
    if waiting:
        audit_record(
            actor=actor,
            action="erasure_plan.forget_set_kept",
            entity_type="erasure_plan",
            entity_id=plan.pk,
            data={"key": plan.forget_set_key, "until_verified": waiting},
        )
        return False
    destroyed = forget_set_destroy(plan.forget_set_key)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action="erasure_plan.forget_set_destroyed",
            entity_type="erasure_plan",
            entity_id=plan.pk,
            data={"key": plan.forget_set_key, "object_versions_destroyed": destroyed},
        )
        ErasurePlan.objects.filter(pk=plan.pk).update(forget_set_key="")
    return True


def plan_forget_sets_destroy_settled(*, batch_id) -> int:
    """A batch's restoring retrain settled: destroy the forget sets its completed plans kept."""
    plans = ErasurePlan.objects.filter(
        outcomes__batch_id=batch_id, status=ErasurePlan.Status.COMPLETED, forget_set_key__gt=""
    ).distinct()
    return sum(plan_forget_set_destroy(plan=plan) for plan in plans)
