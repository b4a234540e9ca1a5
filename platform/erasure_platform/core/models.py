"""The durable event spine: audit chain, transactional outbox, idempotent consumers, jobs."""

from __future__ import annotations

import uuid

from django.db import models


class AuditEvent(models.Model):
    """One audit event, inserted in the writer's own transaction and never changed.

    No writer locks anything shared: `sequence` comes from the database's identity sequence
    (gaps where a transaction rolled back). The dispatcher later folds events into the Merkle
    log (AuditLogLeaf) and signs tree heads. `mac` is an HMAC-SHA256 over the canonical event
    with a key that is only in the environment, so a database credential alone cannot forge
    or alter an event. PostgreSQL refuses UPDATE and DELETE on this table (core migrations).
    """

    sequence = models.BigAutoField(primary_key=True)
    uid = models.UUIDField(unique=True, default=uuid.uuid4, editable=False)
    occurred_at = models.DateTimeField()
    actor = models.CharField(max_length=200)
    action = models.CharField(max_length=100, db_index=True)
    entity_type = models.CharField(max_length=100)
    entity_id = models.CharField(max_length=100)
    data = models.JSONField(default=dict)
    mac = models.CharField(max_length=64)

    class Meta:
        ordering = ["sequence"]
        indexes = [models.Index(fields=["entity_type", "entity_id"], name="core_audit_entity_idx")]

    def __str__(self) -> str:
        return f"#{self.sequence} {self.action} {self.entity_type}:{self.entity_id}"


class AuditLogLeaf(models.Model):
    """An event's position in the Merkle log; written only by the log folder (dispatcher)."""

    leaf_index = models.BigIntegerField(primary_key=True)
    event = models.OneToOneField(AuditEvent, on_delete=models.PROTECT, related_name="leaf")
    leaf_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["leaf_index"]


class SignedTreeHead(models.Model):
    """A signed tree head (RFC 9162 style): the log's size and root, signed with the evidence key.

    `frontier` (roots of the tree's maximal perfect subtrees) lets the next fold extend the
    tree without rereading every leaf; verifiers never trust it, they recompute from leaves."""

    tree_size = models.BigIntegerField(db_index=True)
    root_hash = models.CharField(max_length=64)
    timestamp_ms = models.BigIntegerField(unique=True)
    signed = models.TextField()
    frontier = models.JSONField(default=list)

    class Meta:
        ordering = ["timestamp_ms"]

    def __str__(self) -> str:
        return f"STH size {self.tree_size} root {self.root_hash[:16]}"


class OutboxEvent(models.Model):
    """Written in the same transaction as the state change it announces."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    topic = models.CharField(max_length=100)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    available_at = models.DateTimeField()
    published_at = models.DateTimeField(null=True, blank=True)
    publish_attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["published_at", "available_at"])]

    def __str__(self) -> str:
        return f"{self.topic} {self.id}"


class ProcessedEvent(models.Model):
    """A consumer's receipt for an event: its effect and this row commit together, once."""

    consumer = models.CharField(max_length=150)
    event_id = models.UUIDField()
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["consumer", "event_id"], name="core_processed_event_once")]


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=100)
    queue = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True)
    params = models.JSONField(default=dict)
    # Resumable progress: what the handler has durably finished, so a retry skips it.
    state = models.JSONField(default=dict)
    progress = models.FloatField(default=0.0)
    progress_message = models.CharField(max_length=300, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    max_attempts = models.PositiveIntegerField(default=3)
    lease_owner = models.CharField(max_length=200, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "lease_expires_at"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.id} ({self.status})"


class RateCounter(models.Model):
    """A request counter of one client in one time window (the throttles' store where no Redis is
    configured). Incremented with one atomic upsert, never read-modify-written."""

    key = models.CharField(max_length=250, primary_key=True)
    count = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)
