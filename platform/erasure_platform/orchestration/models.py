"""Orchestration: a granted request carried through dataset erasure, batched unlearning,
verification and release to completion.

The tables keep the names they had when these rows lived in the registry (registry_*): moving
the owner changed no data, so no table was copied or renamed."""

from __future__ import annotations

import uuid

from django.db import models


class BatchStatus(models.TextChoices):
    OPEN = "open"
    UNLEARNING = "unlearning"
    VERIFYING = "verifying"
    AWAITING_APPROVAL = "awaiting_approval"
    RELEASED = "released"
    REJECTED = "rejected"
    FAILED = "failed"
    NOTHING_TO_DO = "nothing_to_do"  # the production version was already unlearned


class UnlearningBatch(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.ForeignKey("registry.Model", on_delete=models.PROTECT, related_name="batches")
    status = models.CharField(max_length=20, choices=BatchStatus.choices, default=BatchStatus.OPEN, db_index=True)
    opens_at = models.DateTimeField()
    closes_at = models.DateTimeField()  # window end: never after the earliest member deadline less the margin
    closed_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(
        max_length=200, default="system:orchestration"
    )  # or the engineer who started it early
    parent_version = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unlearn_job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "registry_unlearningbatch"
        ordering = ["-created_at"]


class ErasurePlan(models.Model):
    """One granted request on its way: its datasets, and an outcome per affected model."""

    class Status(models.TextChoices):
        ERASING = "erasing"
        AWAITING_MODELS = "awaiting_models"
        COMPLETED = "completed"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    request_id = models.CharField(max_length=64, unique=True)
    subject_key = models.CharField(max_length=64, db_index=True)
    # Every key of the person when the plan was made: the requester's and those an identity map
    # links to it (the map's own entries are erased with the request, so they are kept here).
    subject_keys = models.JSONField(default=list)
    scope = models.JSONField(default=dict)
    deadline_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ERASING)
    datasets = models.JSONField(default=list)  # completion payload entries, filled by the erase job
    forget_set_key = models.CharField(
        max_length=300, blank=True
    )  # encrypted copy for verification; destroyed at completion
    erase_job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "registry_erasureplan"
        ordering = ["-created_at"]


class ModelOutcome(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        DONE = "done"
        SKIPPED = "skipped"

    plan = models.ForeignKey(ErasurePlan, on_delete=models.CASCADE, related_name="outcomes")
    model = models.ForeignKey("registry.Model", on_delete=models.PROTECT, related_name="outcomes")
    batch = models.ForeignKey(UnlearningBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="members")
    version_before = models.ForeignKey("registry.ModelVersion", on_delete=models.PROTECT, related_name="+")
    version_after = models.ForeignKey(
        "registry.ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    skipped_reason = models.CharField(max_length=2000, blank=True)
    recorded_by = models.CharField(max_length=200, blank=True)

    class Meta:
        db_table = "registry_modeloutcome"
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["plan", "model"], name="registry_outcome_once")]
