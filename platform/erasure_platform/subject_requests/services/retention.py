"""Purging requesters' contact details on a schedule once their request is closed.

What stays is what the certificate, the regulator reports and CCPA §7101's 24-month record
need: the subject key, dates, scope, decision and grounds — never the contact address."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from erasure_platform.subject_requests.models import CLOSED_STATUSES, ErasureRequest
from erasure_platform.subject_requests.services.intake import request_purge_contact

logger = logging.getLogger(__name__)
RETENTION_ACTOR = "system:retention"


def requests_purge_expired_contacts(*, now=None, batch_size: int = 200) -> int:
    """Purge contact details of requests closed more than ERASURE_CONTACT_RETENTION_DAYS ago."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.ERASURE_CONTACT_RETENTION_DAYS)
    due = list(
        ErasureRequest.objects.filter(
            status__in=CLOSED_STATUSES, contact_purged_at__isnull=True, responded_at__lt=cutoff
        ).values_list("pk", flat=True)[:batch_size]
    )
    purged = 0
    for pk in due:
        with transaction.atomic():
            request = ErasureRequest.objects.select_for_update(skip_locked=True).filter(pk=pk).first()
            # Re-checked under the lock: another dispatcher may have purged it, or it was reopened.
            if request is None or request.contact_purged_at is not None or request.status not in CLOSED_STATUSES:
                continue
            request_purge_contact(erasure_request=request, actor=RETENTION_ACTOR)
            purged += 1
    return purged
