"""Filing a request, proving control of the identifier, purging contact details."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from erasure_platform.core.engine import subject_key as engine_subject_key
from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.services.audit import audit_record, audit_record_many
from erasure_platform.subject_requests import deadlines
from erasure_platform.subject_requests.crypto import (
    code_hash,
    constant_time_equal,
    encrypt_text,
    token_hash,
)
from erasure_platform.subject_requests.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Channel,
    ErasureRequest,
    IdentifierKind,
    RequestStatus,
    ResponseNature,
    ScopeType,
)
from erasure_platform.subject_requests.services.notifications import (
    notify_owner,
    notify_verification_code,
    owner_message,
    plain_date,
    queue_emails,
    verification_code_message,
)
from erasure_platform.subject_requests.transitions import request_transition_allowed

ENTITY = "erasure_request"
CODE_TTL_MINUTES = 30
CODE_MAX_ATTEMPTS = 5
CODE_MAX_SENDS = 5  # the first code and four resends
CODE_RESEND_INTERVAL_SECONDS = 60
MAX_RECORD_IDS = 1000
MAX_MESSAGE_CHARS = 2000


def request_subject_key(identifier: str) -> str:
    return engine_subject_key(identifier, settings.SUBJECT_KEY_SECRET)


def owner_actor(erasure_request: ErasureRequest) -> str:
    return f"owner:{erasure_request.reference}"


def status_path(token: str) -> str:
    return reverse("subject_requests:status", kwargs={"token": token})


def verify_path(token: str) -> str:
    return reverse("subject_requests:verify", kwargs={"token": token})


REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
REFERENCE_ATTEMPTS = 10


def _new_reference() -> str:
    """A random reference (32^8 ≈ 10^12 of them). Not checked here: the unique constraint refuses
    a clash and request_create draws again, so filing a request costs no lookup for it."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"ER-{body[:4]}-{body[4:]}"


def _invalid(field: str, message: str) -> ApplicationError:
    return ApplicationError(message, code="validation_error", details={field: [message]})


def _clean_email(value: str, field: str) -> str:
    value = (value or "").strip()
    if len(value) > 254:
        raise _invalid(field, "an e-mail address has at most 254 characters")
    try:
        validate_email(value)
    except ValidationError:
        raise _invalid(field, "enter a valid e-mail address, like name@example.com") from None
    return value


def _clean_record_ids(scope_type: str, record_ids) -> list[str]:
    if scope_type == ScopeType.ALL:
        if record_ids:
            raise _invalid("record_ids", "leave the record ids empty when asking to erase everything")
        return []
    if not isinstance(record_ids, list | tuple) or not record_ids:
        raise _invalid("record_ids", "name at least one record id, or ask to erase everything")
    cleaned: list[str] = []
    for value in record_ids:
        if not isinstance(value, str) or not value.strip():
            raise _invalid("record_ids", "each record id must be a non-empty text")
        value = value.strip()
        if len(value) > 200:
            raise _invalid("record_ids", "a record id has at most 200 characters")
        if value not in cleaned:
            cleaned.append(value)
    if len(cleaned) > MAX_RECORD_IDS:
        raise _invalid("record_ids", f"name at most {MAX_RECORD_IDS} record ids per request")
    return cleaned


def _issue_code(erasure_request: ErasureRequest, now) -> str:
    code = f"{secrets.randbelow(10**6):06d}"
    erasure_request.code_hash = code_hash(request_id=erasure_request.id, code=code)
    erasure_request.code_expires_at = now + timedelta(minutes=CODE_TTL_MINUTES)
    erasure_request.code_attempts = 0
    erasure_request.code_sends += 1
    erasure_request.code_last_sent_at = now
    return code


def request_create(**fields) -> tuple[ErasureRequest, str]:
    """File a request (see _request_create). Returns the request and the owner's access token
    (shown once, never stored). A reference that clashes with an existing one rolls the attempt
    back (its own transaction or savepoint) and files it again under a new reference."""
    for _ in range(REFERENCE_ATTEMPTS):
        reference = _new_reference()
        try:
            return _request_create(reference=reference, **fields)
        except IntegrityError:
            if not ErasureRequest.objects.filter(reference=reference).exists():
                raise
    raise ApplicationError("could not allocate a request reference; try again", code="reference_exhausted", status=503)


@transaction.atomic
def _request_create(
    *,
    reference: str,
    identifier: str,
    jurisdiction: str,
    channel: str,
    scope_type: str = ScopeType.ALL,
    record_ids: list[str] | None = None,
    identifier_kind: str | None = None,
    contact_email: str | None = None,
    message: str = "",
    link_base: str = "",
) -> tuple[ErasureRequest, str]:
    """File a request under `reference`: one row, its audit events, its e-mails (one INSERT per table).

    The code proving control goes to the identifier when it is an e-mail address, otherwise to the
    contact address. A request for a subject that already has an open, identity-verified request is
    recorded as its duplicate and not processed again."""
    identifier = (identifier or "").strip()
    if not identifier:
        raise _invalid("identifier", "enter the e-mail address or customer id we know you by")
    if len(identifier) > 254:
        raise _invalid("identifier", "an identifier has at most 254 characters")
    if identifier_kind is None:
        identifier_kind = IdentifierKind.EMAIL if "@" in identifier else IdentifierKind.CUSTOMER_ID
    if identifier_kind not in IdentifierKind.values:
        raise _invalid("identifier_kind", f"identifier kind must be one of {', '.join(IdentifierKind.values)}")
    if identifier_kind == IdentifierKind.EMAIL:
        identifier = _clean_email(identifier, "identifier")
    if jurisdiction not in deadlines.JURISDICTIONS:
        raise _invalid("jurisdiction", f"jurisdiction must be one of {', '.join(deadlines.JURISDICTIONS)}")
    if channel not in Channel.values:
        raise _invalid("channel", f"channel must be one of {', '.join(Channel.values)}")
    if scope_type not in ScopeType.values:
        raise _invalid("scope_type", f"scope must be one of {', '.join(ScopeType.values)}")
    cleaned_ids = _clean_record_ids(scope_type, record_ids or [])
    if contact_email:
        contact_email = _clean_email(contact_email, "contact_email")
    elif identifier_kind == IdentifierKind.EMAIL:
        contact_email = identifier
    else:
        raise _invalid("contact_email", "give an e-mail address where we can send your code and our answer")
    message = (message or "").strip()
    if len(message) > MAX_MESSAGE_CHARS:
        raise _invalid("message", f"the message has at most {MAX_MESSAGE_CHARS} characters")
    verification_address = identifier if identifier_kind == IdentifierKind.EMAIL else contact_email

    now = timezone.now()
    received_on = timezone.localdate(now)
    due_on = deadlines.response_due(jurisdiction, received_on)
    key = request_subject_key(identifier)
    token = secrets.token_urlsafe(32)
    # The earliest open, verified request of the subject, locked (its id and reference are all we use).
    open_verified = next(
        iter(
            ErasureRequest.objects.select_for_update()
            .filter(subject_key=key, status__in=OPEN_STATUSES, identity_verified_at__isnull=False)
            .order_by("received_at")
            .values_list("id", "reference")[:1]
        ),
        None,
    )
    request = ErasureRequest(
        reference=reference,
        access_token_hash=token_hash(token),
        subject_key=key,
        identifier_kind=identifier_kind,
        scope_type=scope_type,
        record_ids=cleaned_ids,
        jurisdiction=jurisdiction,
        channel=channel,
        contact_email_encrypted=encrypt_text(contact_email),
        verification_address_encrypted=encrypt_text(verification_address),
        message_encrypted=encrypt_text(message),
        received_at=now,
        received_on=received_on,
        receipt_confirmed_at=now,
        due_on=due_on,
        original_due_on=due_on,
    )
    code = None
    if open_verified is not None:
        original_id, original_reference = open_verified
        request.status = RequestStatus.DUPLICATE
        request.duplicate_of_id = original_id
        request.response_nature = ResponseNature.DUPLICATE
        request.responded_at = now
        request.retain_until = deadlines.retain_until(received_on)
    else:
        code = _issue_code(request, now)
    request.save(force_insert=True)
    events = [
        {
            "actor": owner_actor(request),
            "action": "request.submitted",
            "entity_type": ENTITY,
            "entity_id": request.id,
            "data": {
                "reference": request.reference,
                "jurisdiction": jurisdiction,
                "channel": channel,
                "scope_type": scope_type,
                "record_count": len(cleaned_ids),
                "due_on": due_on.isoformat(),
                "identifier_kind": identifier_kind,
            },
        },
        {
            "actor": "system",
            "action": "request.receipt_confirmed",
            "entity_type": ENTITY,
            "entity_id": request.id,
            "data": {"confirmation_due": deadlines.confirmation_due(jurisdiction, received_on).isoformat()},
        },
    ]
    status_url = f"{link_base}{status_path(token)}"
    if request.status == RequestStatus.DUPLICATE:
        events.append(
            {
                "actor": "system",
                "action": "request.marked_duplicate",
                "entity_type": ENTITY,
                "entity_id": request.id,
                "data": {"duplicate_of": str(original_id), "duplicate_of_reference": original_reference},
            }
        )
        next_steps = (
            f"We are already handling an earlier request for the same identifier ({original_reference}), "
            "so this one will not be processed separately: its outcome covers you.\n"
            f"Follow its status here: {status_url}"
        )
        code_messages = []
    else:
        next_steps = (
            f"We will answer by {plain_date(due_on)} ({jurisdiction}).\n"
            "First, confirm the identifier is yours with the one-time code we sent to it.\n"
            f"Follow your request here (keep this link private): {status_url}"
        )
        code_messages = [
            verification_code_message(
                erasure_request=request,
                code=code,
                verify_url=f"{link_base}{verify_path(token)}",
                minutes=CODE_TTL_MINUTES,
            )
        ]
    audit_record_many(events)
    receipt = owner_message(
        erasure_request=request,
        subject="We received your erasure request",
        body=f"We received your request {request.reference} on {plain_date(received_on)}.\n{next_steps}",
    )
    queue_emails(receipt, *code_messages)
    return request, token


def _locked(erasure_request: ErasureRequest) -> ErasureRequest:
    return ErasureRequest.objects.select_for_update().get(pk=erasure_request.pk)


def request_verify_identity(*, erasure_request: ErasureRequest, code: str) -> ErasureRequest:
    """Check the one-time code. A wrong code counts against the attempt limit (and that count commits)."""
    code = (code or "").strip()
    error: ApplicationError | None = None
    with transaction.atomic():
        erasure_request = _locked(erasure_request)
        if (
            not request_transition_allowed("verify_identity", erasure_request.status)
            or erasure_request.identity_verified_at is not None
        ):
            raise Conflict(
                "this request does not need (or no longer accepts) identity verification",
                code="not_awaiting_verification",
            )
        if not erasure_request.code_hash:
            raise Conflict("no code is active for this request; ask for a new one", code="no_active_code")
        if erasure_request.code_attempts >= CODE_MAX_ATTEMPTS:
            raise ApplicationError(
                "too many wrong codes; ask for a new code", code="code_attempts_exhausted", status=429
            )
        if erasure_request.code_expires_at is None or timezone.now() > erasure_request.code_expires_at:
            raise ApplicationError("this code has expired; ask for a new code", code="code_expired", status=400)
        if not (len(code) == 6 and code.isdigit()) or not constant_time_equal(
            code_hash(request_id=erasure_request.id, code=code), erasure_request.code_hash
        ):
            erasure_request.code_attempts += 1
            erasure_request.save(update_fields=["code_attempts", "updated_at"])
            left = CODE_MAX_ATTEMPTS - erasure_request.code_attempts
            audit_record(
                actor=owner_actor(erasure_request),
                action="request.identity_code_rejected",
                entity_type=ENTITY,
                entity_id=erasure_request.id,
                data={"attempts": erasure_request.code_attempts},
            )
            error = ApplicationError(
                f"that code is not right; {left} attempt{'s' if left != 1 else ''} left"
                if left
                else "that code is not right, and no attempts are left; ask for a new code",
                code="code_invalid",
                details={"attempts_left": left},
            )
        else:
            now = timezone.now()
            erasure_request.identity_verified_at = now
            erasure_request.code_hash = ""
            erasure_request.code_expires_at = None
            earlier = (
                ErasureRequest.objects.select_for_update()
                .filter(
                    subject_key=erasure_request.subject_key,
                    status__in=OPEN_STATUSES,
                    identity_verified_at__isnull=False,
                )
                .exclude(pk=erasure_request.pk)
                .order_by("received_at")
                .first()
            )
            audit_record(
                actor=owner_actor(erasure_request),
                action="request.identity_verified",
                entity_type=ENTITY,
                entity_id=erasure_request.id,
                data={},
            )
            if earlier is not None:
                erasure_request.status = RequestStatus.DUPLICATE
                erasure_request.duplicate_of = earlier
                erasure_request.response_nature = ResponseNature.DUPLICATE
                erasure_request.responded_at = now
                erasure_request.retain_until = deadlines.retain_until(timezone.localdate(now))
                audit_record(
                    actor="system",
                    action="request.marked_duplicate",
                    entity_type=ENTITY,
                    entity_id=erasure_request.id,
                    data={"duplicate_of": str(earlier.id), "duplicate_of_reference": earlier.reference},
                )
                notify_owner(
                    erasure_request=erasure_request,
                    subject="Your request joins an earlier one",
                    body=(
                        f"Thank you for confirming your identifier. An earlier request for it ({earlier.reference}) "
                        "is already being handled, so this one will not be processed separately."
                    ),
                )
            else:
                erasure_request.status = RequestStatus.VERIFIED
                notify_owner(
                    erasure_request=erasure_request,
                    subject="Identifier confirmed",
                    body=(
                        "Thank you: the identifier is confirmed as yours. A compliance officer now reviews "
                        f"your request; we will answer by {plain_date(erasure_request.due_on)}."
                    ),
                )
            erasure_request.save()
    if error is not None:
        raise error
    return erasure_request


@transaction.atomic
def request_resend_code(*, erasure_request: ErasureRequest, link_base: str = "", token: str = "") -> ErasureRequest:
    """Send a fresh code (the old one stops working). Limited in number and frequency."""
    erasure_request = _locked(erasure_request)
    if erasure_request.status != RequestStatus.SUBMITTED or erasure_request.identity_verified_at is not None:
        raise Conflict("this request does not need identity verification any more", code="not_awaiting_verification")
    if erasure_request.contact_purged_at is not None:
        raise Conflict("the address for this request has been purged", code="contact_purged")
    now = timezone.now()
    if erasure_request.code_sends >= CODE_MAX_SENDS:
        raise ApplicationError(
            "no more codes can be sent for this request; please file a new one or contact us",
            code="code_sends_exhausted",
            status=429,
        )
    if (
        erasure_request.code_last_sent_at
        and (now - erasure_request.code_last_sent_at).total_seconds() < CODE_RESEND_INTERVAL_SECONDS
    ):
        wait = CODE_RESEND_INTERVAL_SECONDS - int((now - erasure_request.code_last_sent_at).total_seconds())
        raise ApplicationError(
            f"a code was just sent; wait {wait} seconds before asking for another",
            code="code_resend_too_soon",
            status=429,
            details={"retry_after_seconds": wait},
        )
    code = _issue_code(erasure_request, now)
    erasure_request.save()
    audit_record(
        actor=owner_actor(erasure_request),
        action="request.identity_code_resent",
        entity_type=ENTITY,
        entity_id=erasure_request.id,
        data={"sends": erasure_request.code_sends},
    )
    verify_url = f"{link_base}{verify_path(token)}" if token else ""
    notify_verification_code(
        erasure_request=erasure_request, code=code, verify_url=verify_url, minutes=CODE_TTL_MINUTES
    )
    return erasure_request


@transaction.atomic
def request_purge_contact(*, erasure_request: ErasureRequest, actor: str) -> ErasureRequest:
    """Erase the owner's contact details once the request is closed (the request record stays)."""
    erasure_request = _locked(erasure_request)
    if erasure_request.status not in CLOSED_STATUSES:
        raise Conflict(
            f"request {erasure_request.reference} is still open ({erasure_request.status}); its contact details are still needed",
            code="request_open",
        )
    if erasure_request.contact_purged_at is not None:
        raise Conflict(f"contact details of {erasure_request.reference} were already purged", code="already_purged")
    erasure_request.contact_email_encrypted = ""
    erasure_request.verification_address_encrypted = ""
    erasure_request.message_encrypted = ""
    erasure_request.code_hash = ""
    erasure_request.contact_purged_at = timezone.now()
    erasure_request.save()
    audit_record(
        actor=actor, action="request.contact_purged", entity_type=ENTITY, entity_id=erasure_request.id, data={}
    )
    return erasure_request
