"""E-mails to data owners. Sent after the transaction commits, so a rollback sends nothing."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction

from erasure_platform.subject_requests.crypto import decrypt_text
from erasure_platform.subject_requests.models import ErasureRequest

logger = logging.getLogger(__name__)

SIGNATURE = "\n\n— The privacy team\n(Replies to this address are not read; use your status link.)"


def plain_date(day) -> str:
    return f"{day.day} {day.strftime('%B %Y')}"


def _send(address: str | None, subject: str, body: str, reference: str) -> None:
    if not address:
        logger.info("request %s: no contact address (purged?); e-mail %r not sent", reference, subject)
        return

    def deliver() -> None:
        try:
            send_mail(f"[{reference}] {subject}", body + SIGNATURE, settings.DEFAULT_FROM_EMAIL, [address])
        except Exception:  # a mail outage must not undo a committed decision; it is logged for retry by hand
            logger.exception("request %s: e-mail %r could not be sent", reference, subject)

    transaction.on_commit(deliver)


def notify_owner(*, request: ErasureRequest, subject: str, body: str) -> None:
    """Write to the owner's contact address (if not purged)."""
    _send(decrypt_text(request.contact_email_encrypted), subject, body, request.reference)


def notify_verification_code(*, request: ErasureRequest, code: str, verify_url: str, minutes: int) -> None:
    """Send the one-time code to the identifier's own address (proof of control)."""
    body = (
        f"Your one-time code is: {code}\n\n"
        f"Enter it on {verify_url or 'your request status page'} within {minutes} minutes to confirm that "
        "this identifier is yours. If you did not ask us to erase your data, ignore this message: "
        "nothing happens without this code."
    )
    _send(decrypt_text(request.verification_address_encrypted), "Your verification code", body, request.reference)
