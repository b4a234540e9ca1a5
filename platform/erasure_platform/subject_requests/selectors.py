"""Reads of erasure requests: owner lookup by token, the officers' queue, timelines, dashboard figures."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, IntegerField, Value, When
from django.utils import timezone

from erasure_platform.core.durations import duration_text
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.core.selectors import audit_event_leaf_hash, audit_event_summaries_for, audit_events_for
from erasure_platform.subject_requests import deadlines
from erasure_platform.subject_requests.crypto import decrypt_text, token_hash
from erasure_platform.subject_requests.grounds import ground_label
from erasure_platform.subject_requests.models import (
    ANSWERED_STATUSES,
    CLOSED_STATUSES,
    OPEN_STATUSES,
    ErasureRequest,
    Jurisdiction,
    RequestStatus,
)
from erasure_platform.subject_requests.services.intake import ENTITY, request_subject_key
from erasure_platform.subject_requests.transitions import OFFICER_ACTIONS, request_transition_allowed

NOT_FOUND_MESSAGE = "no request matches this link"

# What the owner reads on the status page, per audited action.
OWNER_LABELS = {
    "request.submitted": "Request received",
    "request.receipt_confirmed": "Receipt confirmed",
    "request.identity_code_resent": "A new verification code was sent",
    "request.identity_verified": "Identifier confirmed as yours",
    "request.marked_duplicate": "Joined an earlier open request for the same identifier",
    "request.granted": "Granted: erasure started",
    "request.refused": "Refused",
    "request.extended": "Deadline extended",
    "request.reopened": "Reopened",
    "request.erasure_progress": "Progress",
    "request.completed": "Completed: your data has been erased",
}
STAGE_LABELS = {
    "datasets_erased": "Erased from our datasets",
    "unlearning": "Removing your data from trained models",
    "compliant_version_ready": "A version of our models without your data is ready",
    "verifying": "Checking the models no longer remember your data",
    "awaiting_release": "Waiting for release approval of the cleaned models",
    "released": "Cleaned models released",
}


def request_get_by_token(*, token: str) -> ErasureRequest:
    """The owner's only way in: an unguessable token. Unknown tokens read as not found."""
    if not token or len(token) > 100:
        raise NotFound(NOT_FOUND_MESSAGE)
    # get() on the unique hash: no ORDER BY, no join (the original of a duplicate loads on use).
    try:
        return ErasureRequest.objects.get(access_token_hash=token_hash(token))
    except ErasureRequest.DoesNotExist:
        raise NotFound(NOT_FOUND_MESSAGE) from None


def request_get(*, request_id) -> ErasureRequest:
    request = ErasureRequest.objects.select_related("duplicate_of").filter(pk=request_id).first()
    if request is None:
        raise NotFound(f"request {request_id} does not exist")
    return request


def request_queue(*, status: str | None = None, jurisdiction: str | None = None, include_closed: bool = False):
    """Open requests, identity-verified first, then by due date (oldest receipt breaks ties)."""
    queryset = ErasureRequest.objects.all()
    if status:
        queryset = queryset.filter(status=status)
    elif not include_closed:
        queryset = queryset.filter(status__in=OPEN_STATUSES)
    if jurisdiction:
        queryset = queryset.filter(jurisdiction=jurisdiction)
    return queryset.annotate(
        verified_rank=Case(
            When(identity_verified_at__isnull=False, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("verified_rank", "due_on", "received_at")


def request_clock(erasure_request: ErasureRequest, today: date | None = None) -> dict:
    today = today or timezone.localdate()
    left = deadlines.days_left(erasure_request.due_on, today)
    return {
        "due_on": erasure_request.due_on,
        "days_left": left,
        "days_overdue": max(0, -left),
        "overdue": erasure_request.is_open and deadlines.is_overdue(erasure_request.due_on, today),
        "extended": erasure_request.is_extended,
        "can_extend": erasure_request.is_open
        and deadlines.extension_refusal(
            jurisdiction=erasure_request.jurisdiction,
            received_on=erasure_request.received_on,
            today=today,
            already_extended=erasure_request.is_extended,
        )
        is None,
        "extension_unit": deadlines.extension_unit(erasure_request.jurisdiction),
        "max_extension": deadlines.max_extension(erasure_request.jurisdiction),
    }


def _owner_detail(action: str, data: dict | None) -> str:
    data = data or {}
    if action == "request.refused":
        return ""
    if action == "request.extended":
        return f"New deadline {data.get('due_on', '')}. Why: {data.get('reason', '')}"
    if action == "request.reopened":
        return f"Why: {data.get('reason', '')}"
    if action == "request.erasure_progress":
        stage = data.get("stage", "")
        label = STAGE_LABELS.get(stage, stage.replace("_", " ").capitalize())
        seconds = (data.get("detail") or {}).get("seconds_from_grant")
        if stage in ("compliant_version_ready", "released") and isinstance(seconds, int | float):
            label += f", {duration_text(seconds)} after your request was granted"
        return label
    if action == "request.marked_duplicate":
        return f"Earlier request: {data.get('duplicate_of_reference', '')}"
    return ""


def request_time_to_compliance(*, erasure_request: ErasureRequest) -> list[dict]:
    """Per model, from the request's timeline: seconds from the grant and from the dataset
    erasure until a compliant version existed (compliant_version_ready) and until one was
    released (released)."""
    models: dict[str, dict] = {}
    for event in audit_events_for(entity_type=ENTITY, entity_id=erasure_request.id):
        if event.action != "request.erasure_progress":
            continue
        data = event.data or {}
        stage, detail = data.get("stage"), data.get("detail") or {}
        if stage not in ("compliant_version_ready", "released") or not detail.get("model"):
            continue
        entry = models.setdefault(detail["model"], {"model": detail["model"]})
        prefix = "ready" if stage == "compliant_version_ready" else "released"
        entry[f"{prefix}_version"] = detail.get("candidate") or detail.get("version")
        entry[f"{prefix}_seconds_from_grant"] = detail.get("seconds_from_grant")
        entry[f"{prefix}_seconds_from_erasure"] = detail.get("seconds_from_erasure")
        if stage == "compliant_version_ready":
            entry["made_in_seconds"] = detail.get("made_in_seconds")
    return list(models.values())


def request_timeline(*, erasure_request: ErasureRequest, for_owner: bool) -> list[dict]:
    """The request's audited history; owners see a plain-language subset."""
    if for_owner:
        # Read on every status poll: only the owner's actions and the three columns shown.
        return [
            {
                "at": event["occurred_at"],
                "action": event["action"],
                "label": OWNER_LABELS[event["action"]],
                "detail": _owner_detail(event["action"], event["data"]),
            }
            for event in audit_event_summaries_for(
                entity_type=ENTITY, entity_id=erasure_request.id, actions=OWNER_LABELS
            )
        ]
    return [
        {
            "at": event.occurred_at,
            "action": event.action,
            "label": event.action,
            "actor": event.actor,
            "data": event.data,
            "sequence": event.sequence,
            "hash": audit_event_leaf_hash(event),
        }
        for event in audit_events_for(entity_type=ENTITY, entity_id=erasure_request.id)
    ]


def request_owner_view(*, erasure_request: ErasureRequest) -> dict:
    """Everything the owner's status page shows: no internal ids, no other request's link."""
    clock = request_clock(erasure_request)
    has_certificate = erasure_request.status == RequestStatus.COMPLETED and hasattr(erasure_request, "certificate")
    original = _original_for_owner(erasure_request)
    return {
        # The platform is still working: the status page refreshes itself until this turns false.
        "awaiting_background_work": (
            erasure_request.status == RequestStatus.GRANTED
            or (erasure_request.status == RequestStatus.COMPLETED and not has_certificate)
            or (original is not None and original["status"] in OPEN_STATUSES)
        ),
        "reference": erasure_request.reference,
        "status": erasure_request.status,
        "status_label": RequestStatus(erasure_request.status).label,
        "jurisdiction": erasure_request.jurisdiction,
        "scope_type": erasure_request.scope_type,
        "record_ids": list(erasure_request.record_ids),
        "received_on": erasure_request.received_on,
        "due_on": erasure_request.due_on,
        "days_left": clock["days_left"],
        "extended": erasure_request.is_extended,
        "extension_reason": erasure_request.extension_reason,
        "identity_verified": erasure_request.identity_verified_at is not None,
        "refusal_ground": erasure_request.refusal_ground,
        "refusal_ground_label": ground_label(erasure_request.jurisdiction, erasure_request.refusal_ground)
        if erasure_request.refusal_ground
        else "",
        "refusal_reason": erasure_request.refusal_reason,
        "duplicate_of_reference": erasure_request.duplicate_of.reference if erasure_request.duplicate_of_id else "",
        "original": original,
        "progress_stage": erasure_request.progress_stage,
        "completed_at": erasure_request.completed_at,
        "completion_record": erasure_request.completion_record
        if erasure_request.status == RequestStatus.COMPLETED
        else None,
        # Evidence issues the certificate (a reverse one-to-one) once the request completed.
        "has_certificate": has_certificate,
        "timeline": request_timeline(erasure_request=erasure_request, for_owner=True),
    }


def _original_for_owner(erasure_request: ErasureRequest) -> dict | None:
    """What a duplicate's owner may know of the request it joined: its progress, and — once they
    proved the identifier is theirs — its certificate (reached through their own link)."""
    original = erasure_request.duplicate_of if erasure_request.status == RequestStatus.DUPLICATE else None
    if original is None:
        return None
    completed = original.status == RequestStatus.COMPLETED
    return {
        "reference": original.reference,
        "status": original.status,
        "status_label": RequestStatus(original.status).label,
        "completed_at": original.completed_at,
        "certificate_shared": completed
        and erasure_request.identity_verified_at is not None
        and hasattr(original, "certificate"),
    }


def request_certificate_holder(*, erasure_request: ErasureRequest) -> ErasureRequest:
    """The request whose certificate this request's owner receives: its own, or — for a duplicate whose
    owner proved the identifier — the original's, which covers them."""
    if (
        erasure_request.status == RequestStatus.DUPLICATE
        and erasure_request.identity_verified_at is not None
        and erasure_request.duplicate_of_id
    ):
        return erasure_request.duplicate_of
    return erasure_request


def request_prior_erasures(*, erasure_request: ErasureRequest) -> list[dict]:
    """Earlier completed erasures for the same identifier (keyed hash), for the officer's attention."""
    earlier = (
        ErasureRequest.objects.filter(subject_key=erasure_request.subject_key, status=RequestStatus.COMPLETED)
        .exclude(pk=erasure_request.pk)
        .order_by("completed_at")
    )
    return [
        {"id": r.id, "reference": r.reference, "completed_at": r.completed_at, "scope_type": r.scope_type}
        for r in earlier
    ]


def request_contact_email(*, erasure_request: ErasureRequest) -> str | None:
    return decrypt_text(erasure_request.contact_email_encrypted)


def request_message(*, erasure_request: ErasureRequest) -> str | None:
    return decrypt_text(erasure_request.message_encrypted)


def dashboard_figures(*, today: date | None = None) -> dict:
    """SLA figures for officers and auditors."""
    today = today or timezone.localdate()
    rows = list(ErasureRequest.objects.values_list("status", "jurisdiction", "due_on", "received_on", "responded_at"))
    open_rows = [row for row in rows if row[0] in OPEN_STATUSES]
    closed_durations = [
        deadlines.days_to_close(received_on, timezone.localdate(responded_at))
        for status, _, _, received_on, responded_at in rows
        if status in ANSWERED_STATUSES and responded_at is not None
    ]
    by_status = Counter(row[0] for row in rows)
    by_jurisdiction = Counter(row[1] for row in rows)
    open_by_jurisdiction = Counter(row[1] for row in open_rows)
    week_end = today + timedelta(days=7)
    return {
        "today": today,
        "total": len(rows),
        "open": len(open_rows),
        "overdue": sum(1 for row in open_rows if deadlines.is_overdue(row[2], today)),
        "due_this_week": sum(1 for row in open_rows if today <= row[2] <= week_end),
        "median_days_to_close": deadlines.median_days(closed_durations),
        "closed": sum(by_status.get(status, 0) for status in CLOSED_STATUSES),
        "by_status": {status.value: by_status.get(status.value, 0) for status in RequestStatus},
        "by_jurisdiction": {j.value: by_jurisdiction.get(j.value, 0) for j in Jurisdiction},
        "open_by_jurisdiction": {j.value: open_by_jurisdiction.get(j.value, 0) for j in Jurisdiction},
    }


def requests_received_between(*, start: date, end: date) -> bool:
    """Whether any request was received in [start, end] (inclusive days)."""
    return ErasureRequest.objects.filter(received_on__gte=start, received_on__lte=end).exists()


def request_available_actions(*, erasure_request: ErasureRequest, clock: dict) -> set[str]:
    """The officer actions the request's state allows now (the services refuse the others): the
    transitions table's, and extending while the SLA clock allows it."""
    actions = {action for action in OFFICER_ACTIONS if request_transition_allowed(action, erasure_request.status)}
    if clock["can_extend"]:
        actions.add("extend")
    return actions


# CCPA §7101(a): what must be kept for 24 months about each request, and nothing personal.
RECORD_FIELDS = [
    "reference",
    "nature",
    "jurisdiction",
    "channel",
    "received_on",
    "identity_verified_on",
    "status",
    "due_on",
    "original_due_on",
    "extended_on",
    "extension_reason",
    "responded_on",
    "response_nature",
    "refusal_ground",
    "refusal_ground_label",
    "refusal_reason",
    "completed_on",
    "duplicate_of",
    "retain_until",
]


def _day(moment) -> date | None:
    return timezone.localdate(moment) if moment else None


def request_records(*, start: date, end: date) -> list[dict]:
    """One row per request received in [start, end], oldest first, in RECORD_FIELDS order."""
    rows = (
        ErasureRequest.objects.filter(received_on__gte=start, received_on__lte=end)
        .select_related("duplicate_of")
        .order_by("received_at", "reference")
    )
    return [
        {
            "reference": r.reference,
            "nature": r.nature,
            "jurisdiction": r.jurisdiction,
            "channel": r.channel,
            "received_on": r.received_on,
            "identity_verified_on": _day(r.identity_verified_at),
            "status": r.status,
            "due_on": r.due_on,
            "original_due_on": r.original_due_on,
            "extended_on": _day(r.extended_at),
            "extension_reason": r.extension_reason,
            "responded_on": _day(r.responded_at),
            "response_nature": r.response_nature,
            "refusal_ground": r.refusal_ground,
            "refusal_ground_label": ground_label(r.jurisdiction, r.refusal_ground) if r.refusal_ground else "",
            "refusal_reason": r.refusal_reason,
            "completed_on": _day(r.completed_at),
            "duplicate_of": r.duplicate_of.reference if r.duplicate_of else "",
            "retain_until": r.retain_until,
        }
        for r in rows
    ]


REFERENCE_PATTERN = re.compile(r"^ER-[A-Z2-9]{4}-[A-Z2-9]{4}$")
SUBJECT_KEY_PATTERN = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class SubjectLookup:
    """Whose data a lineage query asks about, keyed server-side: the raw identifier goes no further."""

    subject_key: str
    found_by: str  # "reference", "identifier" or "subject_key"
    record_ids: tuple[str, ...] = ()
    request_reference: str = ""
    request_status_label: str = ""


def subject_lookup(*, query: str) -> SubjectLookup:
    """A request reference (its subject and scope), an identifier (keyed here) or a subject key."""
    text = (query or "").strip()
    if not text:
        raise ApplicationError(
            "give a request reference, an identifier or a subject key",
            code="validation_error",
            details={"q": ["required"]},
        )
    if REFERENCE_PATTERN.match(text.upper()):
        request = ErasureRequest.objects.filter(reference=text.upper()).first()
        if request is None:
            raise NotFound(f"no request {text.upper()}")
        records = tuple(request.record_ids) if request.scope_type == "records" else ()
        return SubjectLookup(
            subject_key=request.subject_key,
            found_by="reference",
            record_ids=records,
            request_reference=request.reference,
            request_status_label=RequestStatus(request.status).label,
        )
    if SUBJECT_KEY_PATTERN.match(text.lower()):
        return SubjectLookup(subject_key=text.lower(), found_by="subject_key")
    if len(text) > 254:
        raise ApplicationError(
            "an identifier has at most 254 characters", code="validation_error", details={"q": ["too long"]}
        )
    return SubjectLookup(subject_key=request_subject_key(text), found_by="identifier")


def request_references(*, request_ids) -> dict[str, str]:
    """The reference people know (ER-XXXX-XXXX) for each request id given; unknown ids are left out."""
    ids = [str(request_id) for request_id in request_ids if request_id]
    valid = []
    for request_id in ids:
        try:
            valid.append(str(uuid.UUID(request_id)))
        except ValueError:
            continue
    rows = ErasureRequest.objects.filter(pk__in=valid).values_list("pk", "reference")
    return {str(pk): reference for pk, reference in rows}
