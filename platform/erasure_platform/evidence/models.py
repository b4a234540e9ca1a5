from __future__ import annotations

import uuid

from django.db import models


class Certificate(models.Model):
    """A signed certificate of erasure for one completed request. The signed JSON and the
    PDF live in the object store; this row points at them and pins their hashes."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request = models.OneToOneField(
        "subject_requests.ErasureRequest", on_delete=models.PROTECT, related_name="certificate"
    )
    issued_at = models.DateTimeField()
    key_id = models.CharField(max_length=32)
    document_sha256 = models.CharField(max_length=64)
    file_sha256 = models.CharField(max_length=64)
    json_key = models.CharField(max_length=300)
    pdf_key = models.CharField(max_length=300)

    def __str__(self) -> str:
        return f"certificate {self.id} for {self.request_id}"


class Report(models.Model):
    """A regulator report for a period or a single request, built in the background."""

    class Kind(models.TextChoices):
        PERIOD = "period"
        REQUEST = "request"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    request = models.ForeignKey(
        "subject_requests.ErasureRequest", null=True, blank=True, on_delete=models.PROTECT, related_name="reports"
    )
    job = models.OneToOneField("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="report")
    requested_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    json_key = models.CharField(max_length=300, blank=True)
    pdf_key = models.CharField(max_length=300, blank=True)
    json_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-created_at"]
