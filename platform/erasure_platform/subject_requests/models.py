"""Erasure requests. The subject's identifier is never stored: only its keyed hash.

Contact details (where to write to the owner, where the one-time code goes, the owner's
message) are Fernet-encrypted at rest (crypto.py) and purged once no longer needed. The
owner's access token and one-time code are stored as hashes only.
"""

from __future__ import annotations

import uuid

from django.db import models

from erasure_platform.subject_requests import deadlines


class Jurisdiction(models.TextChoices):
    GDPR = deadlines.GDPR, "GDPR (EU/UK)"
    CCPA = deadlines.CCPA, "CCPA (California)"


class Channel(models.TextChoices):
    PORTAL = "portal", "Web portal"
    API = "api", "API"


class IdentifierKind(models.TextChoices):
    EMAIL = "email", "E-mail address"
    CUSTOMER_ID = "customer_id", "Customer id"


class ScopeType(models.TextChoices):
    ALL = "all", "Everything about me"
    RECORDS = "records", "Only the named records"


class RequestStatus(models.TextChoices):
    SUBMITTED = "submitted", "Waiting for identity verification"
    VERIFIED = "verified", "Identity verified — in review"
    GRANTED = "granted", "Granted — erasure in progress"
    COMPLETED = "completed", "Completed"
    REFUSED = "refused", "Refused"
    DUPLICATE = "duplicate", "Duplicate of an open request"


OPEN_STATUSES = (RequestStatus.SUBMITTED, RequestStatus.VERIFIED, RequestStatus.GRANTED)
CLOSED_STATUSES = (RequestStatus.COMPLETED, RequestStatus.REFUSED, RequestStatus.DUPLICATE)
# Closed with an answer of their own: what days-to-close and deadlines-met figures count (a duplicate
# is answered by its original, so counting it again would flatter the figures).
ANSWERED_STATUSES = (RequestStatus.COMPLETED, RequestStatus.REFUSED)


class ResponseNature(models.TextChoices):
    """CCPA §7101(a): the nature of the response."""

    COMPLIED = "complied", "Complied (erased)"
    DENIED = "denied", "Denied"
    DUPLICATE = "duplicate", "Merged into an earlier open request"


class ErasureRequest(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reference = models.CharField(max_length=20, unique=True)  # shown to people: ER-XXXX-XXXX
    access_token_hash = models.CharField(max_length=64, unique=True)  # sha256 of the owner's link token
    # Who: the keyed hash of the identifier (erasure_engine.records.subject_key), never the identifier.
    subject_key = models.CharField(max_length=64, db_index=True)
    identifier_kind = models.CharField(max_length=20, choices=IdentifierKind.choices)
    # What (CCPA §7101 "nature of the request": always deletion here).
    nature = models.CharField(max_length=20, default="deletion", editable=False)
    scope_type = models.CharField(max_length=10, choices=ScopeType.choices)
    record_ids = models.JSONField(default=list, blank=True)
    jurisdiction = models.CharField(max_length=4, choices=Jurisdiction.choices)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(
        max_length=20, choices=RequestStatus.choices, default=RequestStatus.SUBMITTED, db_index=True
    )
    duplicate_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="duplicates")
    # Encrypted contact details (Fernet tokens); empty once purged.
    contact_email_encrypted = models.TextField(blank=True)
    verification_address_encrypted = models.TextField(blank=True)
    message_encrypted = models.TextField(blank=True)
    contact_purged_at = models.DateTimeField(null=True, blank=True)
    # Clocks.
    received_at = models.DateTimeField()
    received_on = models.DateField()  # the day of receipt the statutory periods count from
    receipt_confirmed_at = models.DateTimeField(null=True, blank=True)
    due_on = models.DateField(db_index=True)
    original_due_on = models.DateField()
    extended_at = models.DateTimeField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    # Identity proof: one-time code, stored as a keyed hash.
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    code_sends = models.PositiveSmallIntegerField(default=0)
    code_last_sent_at = models.DateTimeField(null=True, blank=True)
    identity_verified_at = models.DateTimeField(null=True, blank=True)
    # Decision and response (CCPA §7101: response date, nature of response, basis for denial).
    decided_by = models.CharField(max_length=150, blank=True)
    granted_at = models.DateTimeField(null=True, blank=True)
    refusal_ground = models.CharField(max_length=40, blank=True)
    refusal_reason = models.TextField(blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    response_nature = models.CharField(max_length=20, choices=ResponseNature.choices, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    completion_record = models.JSONField(null=True, blank=True)  # payload of request.erasure_completed
    progress_stage = models.CharField(max_length=40, blank=True)
    reopen_count = models.PositiveSmallIntegerField(default=0)
    last_reopen_reason = models.TextField(blank=True)
    retain_until = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["due_on", "received_at"]
        indexes = [models.Index(fields=["subject_key", "status"]), models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.reference} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_extended(self) -> bool:
        return self.extended_at is not None
