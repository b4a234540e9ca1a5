"""Officer decisions (grant, refuse, extend, reopen) and the registry's progress/completion events."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, time

from django.db import transaction
from django.utils import timezone

from erasure_platform.core import topics
from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import outbox_publish
from erasure_platform.subject_requests import deadlines
from erasure_platform.subject_requests.grounds import ground_label, grounds_for
from erasure_platform.subject_requests.models import (
    ErasureRequest,
    RequestStatus,
    ResponseNature,
    ScopeType,
)
from erasure_platform.subject_requests.services.intake import ENTITY
from erasure_platform.subject_requests.services.notifications import notify_owner, plain_date
from erasure_platform.subject_requests.transitions import request_transition_allowed

logger = logging.getLogger(__name__)

MAX_REASON_CHARS = 5000


def officer_actor(officer) -> str:
    return f"user:{officer.username}"


def _reason(reason: str, field: str = "reason") -> str:
    reason = (reason or "").strip()
    if len(reason) < 10:
        raise ApplicationError(
            "write a reason of at least 10 characters; the owner will read it",
            code="validation_error",
            details={field: ["write a reason of at least 10 characters"]},
        )
    if len(reason) > MAX_REASON_CHARS:
        raise ApplicationError(
            f"a reason has at most {MAX_REASON_CHARS} characters",
            code="validation_error",
            details={field: [f"at most {MAX_REASON_CHARS} characters"]},
        )
    return reason


def _locked(erasure_request: ErasureRequest) -> ErasureRequest:
    return ErasureRequest.objects.select_for_update().get(pk=erasure_request.pk)


def deadline_at(erasure_request: ErasureRequest) -> datetime:
    """The end of the due day, in UTC."""
    return datetime.combine(erasure_request.due_on, time(23, 59, 59), tzinfo=UTC)


def granted_payload(erasure_request: ErasureRequest) -> dict:
    scope = (
        {"type": "all"}
        if erasure_request.scope_type == ScopeType.ALL
        else {"type": "records", "record_ids": list(erasure_request.record_ids)}
    )
    return {
        "request_id": str(erasure_request.id),
        "subject_key": erasure_request.subject_key,
        "scope": scope,
        "deadline_at": deadline_at(erasure_request).isoformat(),
    }


@transaction.atomic
def request_grant(*, erasure_request: ErasureRequest, officer, reason: str = "") -> ErasureRequest:
    """Accept the request: erasure starts (the registry consumes request.granted)."""
    erasure_request = _locked(erasure_request)
    if erasure_request.status == RequestStatus.SUBMITTED:
        raise Conflict(
            f"request {erasure_request.reference} cannot be granted before the owner has verified the identifier",
            code="identity_not_verified",
        )
    if not request_transition_allowed("grant", erasure_request.status):
        raise Conflict(
            f"request {erasure_request.reference} is {erasure_request.status}; only a verified request awaiting review can be granted",
            code="invalid_transition",
        )
    now = timezone.now()
    erasure_request.status = RequestStatus.GRANTED
    erasure_request.granted_at = now
    erasure_request.decided_by = officer.username
    erasure_request.progress_stage = ""
    erasure_request.save()
    reason = (reason or "").strip()[:MAX_REASON_CHARS]
    audit_record(
        actor=officer_actor(officer),
        action="request.granted",
        entity_type=ENTITY,
        entity_id=erasure_request.id,
        data={"reason": reason, "due_on": erasure_request.due_on.isoformat()},
    )
    outbox_publish(topic=topics.REQUEST_GRANTED, payload=granted_payload(erasure_request))
    notify_owner(
        erasure_request=erasure_request,
        subject="Your erasure request is granted",
        body=(
            f"Your request {erasure_request.reference} is granted. We are erasing your data from our datasets and then "
            f"from every model trained on it; we will tell you when it is done (by {plain_date(erasure_request.due_on)})."
        ),
    )
    return erasure_request


@transaction.atomic
def request_refuse(*, erasure_request: ErasureRequest, officer, ground: str, reason: str) -> ErasureRequest:
    """Refuse on a listed ground with a written reason the owner reads."""
    erasure_request = _locked(erasure_request)
    allowed = grounds_for(erasure_request.jurisdiction)
    if ground not in allowed:
        raise ApplicationError(
            f"{ground!r} is not a ground for refusing a {erasure_request.jurisdiction} request",
            code="validation_error",
            details={"ground": [f"choose one of: {', '.join(allowed)}"]},
        )
    reason = _reason(reason)
    if erasure_request.status == RequestStatus.GRANTED:
        raise Conflict(
            f"request {erasure_request.reference} is granted and its erasure is under way; it can no longer be refused",
            code="invalid_transition",
        )
    if not request_transition_allowed("refuse", erasure_request.status):
        raise Conflict(
            f"request {erasure_request.reference} is {erasure_request.status}; it cannot be refused",
            code="invalid_transition",
        )
    now = timezone.now()
    erasure_request.status = RequestStatus.REFUSED
    erasure_request.refusal_ground = ground
    erasure_request.refusal_reason = reason
    erasure_request.decided_by = officer.username
    erasure_request.responded_at = now
    erasure_request.response_nature = ResponseNature.DENIED
    erasure_request.retain_until = deadlines.retain_until(timezone.localdate(now))
    erasure_request.code_hash = ""
    erasure_request.save()
    audit_record(
        actor=officer_actor(officer),
        action="request.refused",
        entity_type=ENTITY,
        entity_id=erasure_request.id,
        data={"ground": ground, "reason": reason},
    )
    notify_owner(
        erasure_request=erasure_request,
        subject="Your erasure request is refused",
        body=(
            f"We have refused your request {erasure_request.reference}.\n"
            f"Ground: {ground_label(erasure_request.jurisdiction, ground)}\n"
            f"Reason: {reason}\n\n"
            "You may complain to a supervisory authority or seek a judicial remedy."
        ),
    )
    return erasure_request


@transaction.atomic
def request_extend(
    *, erasure_request: ErasureRequest, officer, reason: str, extension: int | None = None
) -> ErasureRequest:
    """Extend the deadline once (GDPR: 1–2 months; CCPA: up to 45 days), telling the owner why."""
    erasure_request = _locked(erasure_request)
    reason = _reason(reason)
    if not erasure_request.is_open:
        raise Conflict(
            f"request {erasure_request.reference} is {erasure_request.status}; only an open request can be extended",
            code="invalid_transition",
        )
    refusal = deadlines.extension_refusal(
        jurisdiction=erasure_request.jurisdiction,
        received_on=erasure_request.received_on,
        today=timezone.localdate(),
        already_extended=erasure_request.is_extended,
    )
    if refusal:
        raise Conflict(refusal, code="extension_not_allowed")
    if extension is None:
        extension = deadlines.max_extension(erasure_request.jurisdiction)
    try:
        new_due = deadlines.extended_due(erasure_request.jurisdiction, erasure_request.received_on, extension)
    except deadlines.DeadlineError as error:
        raise ApplicationError(str(error), code="validation_error", details={"extension": [str(error)]}) from None
    previous = erasure_request.due_on
    erasure_request.due_on = new_due
    erasure_request.extended_at = timezone.now()
    erasure_request.extension_reason = reason
    erasure_request.save()
    audit_record(
        actor=officer_actor(officer),
        action="request.extended",
        entity_type=ENTITY,
        entity_id=erasure_request.id,
        data={
            "reason": reason,
            "previous_due_on": previous.isoformat(),
            "due_on": new_due.isoformat(),
            "extension": extension,
            "unit": deadlines.extension_unit(erasure_request.jurisdiction),
        },
    )
    notify_owner(
        erasure_request=erasure_request,
        subject="We need more time for your request",
        body=(
            f"We have extended the deadline for your request {erasure_request.reference} from {plain_date(previous)} "
            f"to {plain_date(new_due)}.\nWhy: {reason}"
        ),
    )
    return erasure_request


@transaction.atomic
def request_reopen(*, erasure_request: ErasureRequest, officer, reason: str) -> ErasureRequest:
    """Reopen a refused or completed request: it returns to review (or to identity verification)."""
    erasure_request = _locked(erasure_request)
    reason = _reason(reason)
    if not request_transition_allowed("reopen", erasure_request.status):
        raise Conflict(
            f"request {erasure_request.reference} is {erasure_request.status}; only a refused or completed request can be reopened",
            code="invalid_transition",
        )
    previous = erasure_request.status
    erasure_request.status = RequestStatus.VERIFIED if erasure_request.identity_verified_at else RequestStatus.SUBMITTED
    erasure_request.reopen_count += 1
    erasure_request.last_reopen_reason = reason
    erasure_request.refusal_ground = ""
    erasure_request.refusal_reason = ""
    erasure_request.responded_at = None
    erasure_request.response_nature = ""
    erasure_request.retain_until = None
    erasure_request.completed_at = None
    erasure_request.progress_stage = ""
    if erasure_request.status == RequestStatus.SUBMITTED:
        erasure_request.code_sends = 0  # the owner may ask for fresh codes again
        erasure_request.code_attempts = 0
    erasure_request.save()
    audit_record(
        actor=officer_actor(officer),
        action="request.reopened",
        entity_type=ENTITY,
        entity_id=erasure_request.id,
        data={"reason": reason, "previous_status": previous, "status": erasure_request.status},
    )
    notify_owner(
        erasure_request=erasure_request,
        subject="Your request is reopened",
        body=f"We have reopened your request {erasure_request.reference}.\nWhy: {reason}",
    )
    return erasure_request


def _request_from_payload(payload: dict) -> ErasureRequest | None:
    try:
        request_id = uuid.UUID(str(payload.get("request_id")))
    except (TypeError, ValueError):
        return None
    return ErasureRequest.objects.select_for_update().filter(pk=request_id).first()


@transaction.atomic
def request_record_progress(*, payload: dict, actor: str = "system:orchestration") -> ErasureRequest | None:
    """Show a registry stage (datasets erased, unlearning...) on the request's timeline."""
    request = _request_from_payload(payload)
    stage = str(payload.get("stage") or "")[:40]
    if request is None or not stage:
        logger.warning("erasure progress for an unknown request or without a stage ignored: %r", payload)
        return None
    detail = payload.get("detail") if isinstance(payload.get("detail"), dict) else {}
    request.progress_stage = stage
    request.save(update_fields=["progress_stage", "updated_at"])
    audit_record(
        actor=actor,
        action="request.erasure_progress",
        entity_type=ENTITY,
        entity_id=request.id,
        data={"stage": stage, "detail": detail},
    )
    return request


@transaction.atomic
def request_complete(*, payload: dict, actor: str = "system:orchestration") -> ErasureRequest | None:
    """Close a granted request with the registry's completion record; tell the owner."""
    request = _request_from_payload(payload)
    if request is None:
        logger.warning("erasure completion for an unknown request ignored: %r", payload.get("request_id"))
        return None
    if not request_transition_allowed("complete", request.status):
        # Not an error to retry: record that the event arrived when the request was not waiting for it.
        audit_record(
            actor=actor,
            action="request.completion_ignored",
            entity_type=ENTITY,
            entity_id=request.id,
            data={"status": request.status},
        )
        return request
    now = timezone.now()
    record = {
        "request_id": str(request.id),
        "datasets": list(payload.get("datasets") or []),
        "models": list(payload.get("models") or []),
    }
    request.status = RequestStatus.COMPLETED
    request.completion_record = record
    request.completed_at = now
    request.responded_at = now
    request.response_nature = ResponseNature.COMPLIED
    request.retain_until = deadlines.retain_until(timezone.localdate(now))
    request.progress_stage = "completed"
    request.save()
    audit_record(
        actor=actor,
        action="request.completed",
        entity_type=ENTITY,
        entity_id=request.id,
        data={"datasets": len(record["datasets"]), "models": len(record["models"])},
    )
    # Evidence issues the certificate of erasure on this event.
    outbox_publish(topic=topics.REQUEST_COMPLETED, payload={"request_id": str(request.id)})
    notify_owner(
        erasure_request=request,
        subject="Your data has been erased",
        body=(
            f"Your request {request.reference} is complete: your data was erased from "
            f"{len(record['datasets'])} dataset(s) and {len(record['models'])} model(s). "
            "Your status page lists what was erased and when."
        ),
    )
    return request
