"""E-mails to data owners, through the outbox: nothing slow on the request path.

A service queues an "owner.email" event in the transaction of its state change (a rollback
queues nothing); a worker delivers it (owner_email_deliver). The body holds one-time codes and
private links, so it is stored encrypted; the address is read at delivery, so a purged contact is
never written to. Delivery is one e-mail per event: the consumer runs once per event, and the
Message-ID is the event's, so a retry after an unknown SMTP outcome is recognisable as the same
message. A failed delivery raises and the event's task retries with backoff."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage

from erasure_platform.core import topics
from erasure_platform.core.services.outbox import outbox_publish, outbox_publish_many
from erasure_platform.subject_requests.crypto import decrypt_text, encrypt_text
from erasure_platform.subject_requests.models import ErasureRequest

logger = logging.getLogger(__name__)

SIGNATURE = "\n\n— The privacy team\n(Replies to this address are not read; use your status link.)"
RECIPIENTS = {
    "contact": "contact_email_encrypted",  # the owner's contact address
    "identifier": "verification_address_encrypted",  # the identifier's own address (proof of control)
}


def plain_date(day) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"


def _email(erasure_request: ErasureRequest, recipient: str, subject: str, body: str) -> tuple[str, dict] | None:
    """The outbox event of one e-mail, or None when its address was purged."""
    if not getattr(erasure_request, RECIPIENTS[recipient]):
        logger.info(
            "request %s: no %s address (purged?); e-mail %r not queued", erasure_request.reference, recipient, subject
        )
        return None
    return (
        topics.OWNER_EMAIL,
        {
            "request_id": str(erasure_request.id),
            "recipient": recipient,
            "subject": f"[{erasure_request.reference}] {subject}",
            "body_encrypted": encrypt_text(body + SIGNATURE),
        },
    )


def owner_message(*, erasure_request: ErasureRequest, subject: str, body: str) -> tuple[str, dict] | None:
    """An e-mail to the owner's contact address (None if purged), for queue_emails."""
    return _email(erasure_request, "contact", subject, body)


def verification_code_message(
    *, erasure_request: ErasureRequest, code: str, verify_url: str, minutes: int
) -> tuple[str, dict] | None:
    """The one-time code, to the identifier's own address (proof of control), for queue_emails."""
    body = (
        f"Your one-time code is: {code}\n\n"
        f"Enter it on {verify_url or 'your request status page'} within {minutes} minutes to confirm that "
        "this identifier is yours. If you did not ask us to erase your data, ignore this message: "
        "nothing happens without this code."
    )
    return _email(erasure_request, "identifier", "Your verification code", body)


def queue_emails(*messages: tuple[str, dict] | None) -> None:
    """Queue the e-mails of one state change in its transaction (one INSERT for all of them)."""
    events = [message for message in messages if message is not None]
    if len(events) == 1:
        outbox_publish(topic=events[0][0], payload=events[0][1])
    elif events:
        outbox_publish_many(events)


def notify_owner(*, erasure_request: ErasureRequest, subject: str, body: str) -> None:
    """Write to the owner's contact address (if not purged)."""
    queue_emails(owner_message(erasure_request=erasure_request, subject=subject, body=body))


def notify_verification_code(*, erasure_request: ErasureRequest, code: str, verify_url: str, minutes: int) -> None:
    """Send the one-time code to the identifier's own address (proof of control)."""
    queue_emails(
        verification_code_message(erasure_request=erasure_request, code=code, verify_url=verify_url, minutes=minutes)
    )


def owner_email_deliver(*, event_id, payload: dict) -> bool:
    """Send one queued e-mail (the worker's side). False when there is nothing to send any more."""
    request = ErasureRequest.objects.filter(pk=payload["request_id"]).first()
    address = decrypt_text(getattr(request, RECIPIENTS[payload["recipient"]])) if request is not None else None
    body = decrypt_text(payload["body_encrypted"])
    if not address or body is None:
        logger.info("owner e-mail %s: address purged or body unreadable; not sent", event_id)
        return False
    message = EmailMessage(
        payload["subject"],
        body,
        settings.DEFAULT_FROM_EMAIL,
        [address],
        headers={"Message-ID": f"<owner-email-{event_id}@{settings.ERASURE_EMAIL_DOMAIN}>"},
    )
    message.send(fail_silently=False)
    return True
