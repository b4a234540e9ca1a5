"""Unlearning batches: requests for the same model inside a window are unlearned together.

A batch opens with its first member and closes at the earliest of: the sliding window after its
newest member (ERASURE_BATCH_WINDOW_SECONDS), its maximum age (ERASURE_BATCH_MAX_AGE_SECONDS),
and the earliest member deadline less the time needed to unlearn, verify and approve
(ERASURE_BATCH_DEADLINE_MARGIN_SECONDS): the deadline always wins. A delayed outbox event
wakes orchestration at the closing time; an engineer may also start a batch early."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_has_role
from erasure_platform.core import topics
from erasure_platform.core.errors import Conflict, PermissionDenied
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.core.services.outbox import outbox_publish
from erasure_platform.orchestration import conf
from erasure_platform.orchestration.models import BatchStatus, ModelOutcome, UnlearningBatch
from erasure_platform.orchestration.services.progress import ACTOR, plan_progress
from erasure_platform.registry.models import Model
from erasure_platform.registry.selectors import production_version

UNLEARN_JOB = "orchestration.unlearn"


def batch_closing_time(*, opens_at, last_joined_at, earliest_deadline):
    window = last_joined_at + timedelta(seconds=conf.batch_window_seconds())
    max_age = opens_at + timedelta(seconds=conf.batch_max_age_seconds())
    deadline = earliest_deadline - timedelta(seconds=conf.batch_deadline_margin_seconds())
    return max(min(window, max_age, deadline), last_joined_at)


def _announce_due(batch: UnlearningBatch, now) -> None:
    delay = max((batch.closes_at - now).total_seconds(), 0)
    outbox_publish(topic=topics.BATCH_DUE, payload={"batch_id": str(batch.pk)}, delay_seconds=delay)


def batch_add(*, outcome: ModelOutcome, actor: str = ACTOR) -> UnlearningBatch:
    """Put a pending model outcome into its model's open batch (opening one if needed)."""
    now = timezone.now()
    with transaction.atomic():
        Model.objects.select_for_update().get(pk=outcome.model_id)  # one open batch per model
        batch = UnlearningBatch.objects.filter(model_id=outcome.model_id, status=BatchStatus.OPEN).first()
        created = batch is None
        if created:
            batch = UnlearningBatch(model_id=outcome.model_id, opens_at=now, closes_at=now)
        deadlines = [outcome.plan.deadline_at]
        if not created:
            deadlines += list(batch.members.values_list("plan__deadline_at", flat=True))
        batch.closes_at = batch_closing_time(
            opens_at=batch.opens_at, last_joined_at=now, earliest_deadline=min(deadlines)
        )
        batch.save()
        outcome.batch = batch
        outcome.save(update_fields=["batch"])
        audit_record(
            actor=actor,
            action="batch.member_added",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={
                "model": outcome.model.name,
                "request_id": outcome.plan.request_id,
                "closes_at": batch.closes_at.isoformat(),
                "opened": created,
            },
        )
        _announce_due(batch, now)
    return batch


def batch_close(*, batch: UnlearningBatch, actor: str = ACTOR) -> UnlearningBatch:
    """Close an open batch and start one unlearning job for all its members."""
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.OPEN:
            raise Conflict(f"batch {batch.pk} is {batch.status}, not open", code="batch_not_open")
        members = list(batch.members.filter(status=ModelOutcome.Status.PENDING).select_related("plan"))
        batch.closed_at = timezone.now()
        batch.parent_version = production_version(model=batch.model)
        if actor != ACTOR:
            batch.started_by = actor
        if not members or batch.parent_version is None:
            batch.status = BatchStatus.FAILED if members else BatchStatus.NOTHING_TO_DO
            batch.error = "" if not members else f"model {batch.model.name} has no production version to unlearn from"
            batch.save()
            audit_record(
                actor=actor,
                action="batch.closed",
                entity_type="unlearning_batch",
                entity_id=batch.pk,
                data={"members": len(members), "status": batch.status},
            )
            return batch
        batch.status = BatchStatus.UNLEARNING
        batch.unlearn_job = job_create(
            kind=UNLEARN_JOB,
            params={"batch_id": str(batch.pk)},
            actor=batch.started_by,
            idempotency_key=f"unlearn:{batch.pk}",
        )
        batch.save()
        audit_record(
            actor=actor,
            action="batch.closed",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={
                "model": batch.model.name,
                "members": [m.plan.request_id for m in members],
                "parent_version": batch.parent_version.version_id,
                "job": str(batch.unlearn_job.pk),
                "started_by": batch.started_by,
            },
        )
        for member in members:
            plan_progress(
                plan=member.plan,
                stage="unlearning",
                detail={"model": batch.model.name, "job": str(batch.unlearn_job.pk)},
            )
    return batch


def batch_close_if_due(*, batch_id) -> UnlearningBatch | None:
    """The delayed wake-up: close the batch if its time has come, otherwise wake again later."""
    batch = UnlearningBatch.objects.filter(pk=batch_id).first()
    if batch is None or batch.status != BatchStatus.OPEN:
        return batch
    now = timezone.now()
    if now >= batch.closes_at:
        return batch_close(batch=batch)
    _announce_due(batch, now)
    return batch


def _require_engineer(user) -> None:
    if not user_has_role(user, Role.ML_ENGINEER):
        raise PermissionDenied("only an ML engineer may start unlearning")


def unlearning_start_now(*, model: Model, engineer) -> UnlearningBatch:
    """An engineer starts unlearning for a model now: closes its open batch early, or batches the
    requests left pending by a rejected or failed candidate. The engineer becomes the batch's
    starter, so they can never approve its result."""
    _require_engineer(engineer)
    with transaction.atomic():
        Model.objects.select_for_update().get(pk=model.pk)
        batch = UnlearningBatch.objects.filter(model=model, status=BatchStatus.OPEN).first()
        if batch is None:
            stranded = ModelOutcome.objects.filter(
                model=model, status=ModelOutcome.Status.PENDING, plan__status="awaiting_models"
            ).exclude(
                batch__status__in=[
                    BatchStatus.OPEN,
                    BatchStatus.UNLEARNING,
                    BatchStatus.VERIFYING,
                    BatchStatus.AWAITING_APPROVAL,
                ]
            )
            stranded = list(stranded)
            if not stranded:
                raise Conflict(
                    f"nothing to unlearn for model {model.name}: no pending erasure requests", code="nothing_to_unlearn"
                )
            now = timezone.now()
            batch = UnlearningBatch.objects.create(model=model, opens_at=now, closes_at=now)
            ModelOutcome.objects.filter(pk__in=[o.pk for o in stranded]).update(batch=batch)
        audit_record(
            actor=engineer.username,
            action="batch.started_manually",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={"model": model.name},
        )
        return batch_close(batch=batch, actor=engineer.username)


def batch_schedule(*, batch: UnlearningBatch, engineer, closes_at) -> UnlearningBatch:
    """Move an open batch's closing time earlier (never later than its deadline bound)."""
    _require_engineer(engineer)
    now = timezone.now()
    with transaction.atomic():
        batch = UnlearningBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status != BatchStatus.OPEN:
            raise Conflict(f"batch {batch.pk} is {batch.status}, not open", code="batch_not_open")
        if closes_at > batch.closes_at:
            raise Conflict(
                "a batch can only be scheduled earlier: its closing time protects the deadlines",
                code="schedule_too_late",
            )
        batch.closes_at = max(closes_at, now)
        batch.save(update_fields=["closes_at"])
        audit_record(
            actor=engineer.username,
            action="batch.scheduled",
            entity_type="unlearning_batch",
            entity_id=batch.pk,
            data={"closes_at": batch.closes_at.isoformat()},
        )
        _announce_due(batch, now)
    return batch
