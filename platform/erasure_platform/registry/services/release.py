"""Release with four eyes: approve or reject a candidate on its verdict, move the alias,
supersede the old version, tell consumers (GDPR Art. 19), complete the requests; roll back.

Policy on failed verdicts: a candidate whose verification verdict failed can be approved only
with an explicit override reason (at least 20 characters), which is recorded on the decision,
audited and reported in the request's completion record. Without it the approval is refused.
An inconclusive verdict (the suite could not tell at this sample size) likewise needs the
approver's written justification (same field, same minimum), recorded, audited and stated on the
certificate as the kind of proof behind the release. Four eyes hold in every case."""

from __future__ import annotations

from django.db import transaction

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_has_role
from erasure_platform.core import topics
from erasure_platform.core.errors import ApplicationError, Conflict, PermissionDenied
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import outbox_publish
from erasure_platform.registry.models import (
    Alias,
    AliasMove,
    Consumer,
    Model,
    ModelVersion,
    ReleaseDecision,
    VersionStatus,
)
from erasure_platform.registry.selectors import VERDICT_FAILED, VERDICT_INCONCLUSIVE, verdict_outcome

OVERRIDE_MIN_LENGTH = 20


def _require_approver(user) -> None:
    if not user_has_role(user, Role.RELEASE_APPROVER):
        raise PermissionDenied("only a release approver may decide on a release")


def _four_eyes(version: ModelVersion, approver) -> None:
    starters = {version.created_by}
    if version.batch_id:
        starters.add(version.batch.started_by)
    if version.created_by_job_id:
        starters.add(version.created_by_job.created_by)
    if approver.username in starters:
        raise PermissionDenied(
            "four eyes: you started the job that made this version, so another approver must decide",
            code="four_eyes",
        )


def _move_alias(*, model: Model, to_version: ModelVersion, actor: str, action: str, reason: str) -> ModelVersion | None:
    alias = Alias.objects.select_for_update().filter(model=model, name=Alias.PRODUCTION).first()
    previous = alias.version if alias else None
    if alias is None:
        alias = Alias.objects.create(model=model, name=Alias.PRODUCTION, version=to_version)
    else:
        alias.version = to_version
        alias.save()
    AliasMove.objects.create(
        alias=alias, from_version=previous, to_version=to_version, action=action, actor=actor, reason=reason
    )
    return previous


def _notify_consumers(
    *, model: Model, old: ModelVersion, new: ModelVersion, because_of_erasure: bool, actor: str
) -> int:
    consumers = Consumer.objects.filter(model=model).filter(pinned_version__isnull=True) | Consumer.objects.filter(
        model=model, pinned_version=old
    )
    count = 0
    for consumer in consumers.distinct():
        outbox_publish(
            topic=topics.REGISTRY_CONSUMER_NOTIFY,
            payload={
                "consumer_id": consumer.pk,
                "model": model.name,
                "old_version": old.version_id,
                "new_version": new.version_id,
                "because_of_erasure": because_of_erasure,
                "actor": actor,
            },
        )
        count += 1
    return count


def release_approve(*, version: ModelVersion, approver, reason: str = "", override_reason: str = "") -> ModelVersion:
    _require_approver(approver)
    with transaction.atomic():
        version = (
            ModelVersion.objects.select_for_update(of=("self",))
            .select_related("model", "batch", "created_by_job")
            .get(pk=version.pk)
        )
        if version.status != VersionStatus.CANDIDATE:
            raise Conflict(f"{version} is {version.status}; only a candidate can be approved", code="not_a_candidate")
        _four_eyes(version, approver)
        if version.batch_id and version.verdict is None:
            raise Conflict(f"{version} has no verification verdict yet", code="not_verified")
        current = Alias.objects.filter(model=version.model, name=Alias.PRODUCTION).select_related("version").first()
        current = current.version if current else None
        # A batch's candidates come in order of quality (the deactivated version, then the restoring
        # retrain): once a later one serves, an earlier one may never replace it.
        if (
            version.batch_id
            and current is not None
            and current.batch_id == version.batch_id
            and current.created_at > version.created_at
        ):
            raise Conflict(
                f"{current} (a later candidate of the same unlearning batch) is already in production; "
                f"{version} would only lower its quality",
                code="superseded_by_later_candidate",
            )
        overridden = justified = False
        outcome = verdict_outcome(version.verdict)
        if outcome in (VERDICT_FAILED, VERDICT_INCONCLUSIVE):
            override_reason = (override_reason or "").strip()
            if len(override_reason) < OVERRIDE_MIN_LENGTH:
                if outcome == VERDICT_INCONCLUSIVE:
                    raise Conflict(
                        f"the verification verdict is inconclusive ({version.verdict.get('reason', '')}); approving needs "
                        f"a written justification (override_reason) of at least {OVERRIDE_MIN_LENGTH} characters",
                        code="verdict_inconclusive",
                        details={"inconclusive_metrics": version.verdict.get("inconclusive_metrics", [])},
                    )
                raise Conflict(
                    f"the verification verdict failed ({', '.join(version.verdict.get('failed_metrics', []))}); "
                    f"approving needs an override reason of at least {OVERRIDE_MIN_LENGTH} characters",
                    code="verdict_failed",
                    details={"failed_metrics": version.verdict.get("failed_metrics", [])},
                )
            overridden, justified = outcome == VERDICT_FAILED, outcome == VERDICT_INCONCLUSIVE
        decision = ReleaseDecision.objects.create(
            version=version,
            approver=approver.username,
            decision=ReleaseDecision.Decision.APPROVE,
            reason=(override_reason if overridden or justified else reason)[:2000],
            overrode_failed_verdict=overridden,
        )
        # Replacing a version of the same batch (the restoring retrain after the deactivated
        # version) is a quality update: the version it replaces holds no erased data.
        because_of_erasure = bool(version.batch_id) and not (
            current is not None and current.batch_id == version.batch_id
        )
        previous = _move_alias(
            model=version.model,
            to_version=version,
            actor=approver.username,
            action=AliasMove.Action.RELEASE,
            reason=decision.reason,
        )
        version.status = VersionStatus.RELEASED
        version.save(update_fields=["status"])
        notified = 0
        if previous is not None and previous.pk != version.pk:
            previous.status = VersionStatus.SUPERSEDED
            previous.holds_erased_data = previous.holds_erased_data or because_of_erasure
            previous.save(update_fields=["status", "holds_erased_data"])
            notified = _notify_consumers(
                model=version.model,
                old=previous,
                new=version,
                because_of_erasure=because_of_erasure,
                actor=approver.username,
            )
        audit_record(
            actor=approver.username,
            action="model_version.approved",
            entity_type="model_version",
            entity_id=version.pk,
            data={
                "model": version.model.name,
                "version_id": version.version_id,
                "previous": previous.version_id if previous else None,
                "reason": decision.reason,
                "overrode_failed_verdict": overridden,
                "verdict_outcome": outcome,
                "released_on_inconclusive": justified,
                "consumers_notified": notified,
            },
        )
        # Orchestration completes the batch's requests on this event (it is committed with the release).
        outbox_publish(
            topic=topics.MODEL_VERSION_RELEASED,
            payload={"version_id": str(version.pk), "batch_id": str(version.batch_id) if version.batch_id else None},
        )
    return version


def release_reject(*, version: ModelVersion, approver, reason: str) -> ModelVersion:
    _require_approver(approver)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ApplicationError("give the reason for rejecting in at least 10 characters", code="reason_required")
    with transaction.atomic():
        version = (
            ModelVersion.objects.select_for_update(of=("self",))
            .select_related("model", "batch", "created_by_job")
            .get(pk=version.pk)
        )
        if version.status != VersionStatus.CANDIDATE:
            raise Conflict(f"{version} is {version.status}; only a candidate can be rejected", code="not_a_candidate")
        _four_eyes(version, approver)
        ReleaseDecision.objects.create(
            version=version, approver=approver.username, decision=ReleaseDecision.Decision.REJECT, reason=reason[:2000]
        )
        version.status = VersionStatus.REJECTED
        version.save(update_fields=["status"])
        audit_record(
            actor=approver.username,
            action="model_version.rejected",
            entity_type="model_version",
            entity_id=version.pk,
            data={"model": version.model.name, "version_id": version.version_id, "reason": reason},
        )
        outbox_publish(
            topic=topics.MODEL_VERSION_REJECTED,
            payload={
                "version_id": str(version.pk),
                "batch_id": str(version.batch_id) if version.batch_id else None,
                "reason": reason[:300],
            },
        )
    return version


def alias_rollback(*, model: Model, approver, reason: str) -> ModelVersion:
    """Point `production` back at the version it pointed to before the last release. Refused when
    there is none, or when that version holds data erased since (it can never serve again)."""
    _require_approver(approver)
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ApplicationError("give the reason for the rollback in at least 10 characters", code="reason_required")
    with transaction.atomic():
        alias = (
            Alias.objects.select_for_update(of=("self",))
            .filter(model=model, name=Alias.PRODUCTION)
            .select_related("version")
            .first()
        )
        if alias is None:
            raise Conflict(f"model {model.name} has no production version", code="no_production")
        last = alias.moves.order_by("-id").first()
        target = last.from_version if last else None
        if target is None:
            raise Conflict(
                f"model {model.name} has no previous production version to roll back to", code="no_previous_version"
            )
        if target.holds_erased_data:
            raise Conflict(
                f"{target} still holds data erased since; it can never be served again", code="holds_erased_data"
            )
        current = alias.version
        _move_alias(
            model=model, to_version=target, actor=approver.username, action=AliasMove.Action.ROLLBACK, reason=reason
        )
        current.status = VersionStatus.SUPERSEDED
        current.save(update_fields=["status"])
        target.status = VersionStatus.RELEASED
        target.save(update_fields=["status"])
        audit_record(
            actor=approver.username,
            action="model.rolled_back",
            entity_type="model",
            entity_id=model.pk,
            data={"from": current.version_id, "to": target.version_id, "reason": reason},
        )
    return target


def release_initial(
    *, version: ModelVersion, actor: str, reason: str = "initial release of the demo model"
) -> ModelVersion:
    """Make a model's first version its production version without an approver: only for the
    embedded demo's seed or an imported model already in production elsewhere (no production
    exists yet here, nothing is superseded, no erasure involved)."""
    with transaction.atomic():
        version = ModelVersion.objects.select_for_update().get(pk=version.pk)
        if Alias.objects.filter(model=version.model, name=Alias.PRODUCTION).exists():
            raise Conflict(f"model {version.model.name} already has a production version", code="already_released")
        if version.status != VersionStatus.CANDIDATE:
            raise Conflict(f"{version} is {version.status}; only a candidate can be released", code="not_a_candidate")
        _move_alias(
            model=version.model, to_version=version, actor=actor, action=AliasMove.Action.RELEASE, reason=reason
        )
        version.status = VersionStatus.RELEASED
        version.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action="model_version.released_initial",
            entity_type="model_version",
            entity_id=version.pk,
            data={"model": version.model.name, "version_id": version.version_id},
        )
    return version
