"""Registry: datasets and their versions, the subject index (lineage), models, versions,
aliases, consumers (Art. 19 recipients) and release decisions. Erasure plans and unlearning
batches are orchestration's (they carry a request through these rows).

The engine holds the bytes (object store); these rows hold what the platform must query
fast and prove: which versions hold whose data, who decided what, and when."""

from __future__ import annotations

import uuid

from django.db import models


class DatasetPurpose(models.TextChoices):
    TRAINING = "training"
    HOLDOUT = "holdout"  # never-seen subjects: the non-members of membership attacks


class Dataset(models.Model):
    name = models.CharField(max_length=64, unique=True)  # the engine's dataset name
    purpose = models.CharField(max_length=20, choices=DatasetPurpose.choices, default=DatasetPurpose.TRAINING)
    description = models.CharField(max_length=500, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class DatasetVersion(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="versions")
    version_id = models.CharField(max_length=32)  # the engine's id, e.g. v0001
    manifest_sha256 = models.CharField(max_length=64)
    object_url = models.CharField(max_length=500)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    record_count = models.PositiveIntegerField(default=0)
    shards = models.PositiveIntegerField(default=1)
    slices = models.PositiveIntegerField(default=1)
    # Made by erasing records from the parent: [{record_id, content_hash, shard, slice}] and the request ids.
    erasure = models.JSONField(null=True, blank=True)
    # The erasure that made the child destroyed this version's objects holding erased records.
    purged = models.BooleanField(default=False)
    # Where its records came from (an import's source and spec, never credentials); None: generated.
    source = models.JSONField(null=True, blank=True)
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["dataset__name", "id"]
        constraints = [models.UniqueConstraint(fields=["dataset", "version_id"], name="registry_dataset_version_once")]

    def __str__(self) -> str:
        return f"{self.dataset.name}@{self.version_id}"


class SubjectRecord(models.Model):
    """The lineage index, by subject key: one row per record *interval*. The record, unchanged, is
    in every version of its dataset from valid_from (included) down the parent chain until
    valid_until (excluded; null: still in the latest version).

    An erasure closes the erased records' rows (valid_until = erased_in = the new version) and
    writes nothing for the records that stay, so index writes are proportional to the erased
    records, not to the dataset. "Which dataset and model versions hold subject X" is one indexed
    lookup on subject_key plus the (short) version history of the datasets found (registry.lineage).
    Rows of erased records stay until every model trained on them has been unlearned, so lineage
    still finds those models; the request's completion removes them."""

    subject_key = models.CharField(max_length=64)
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="subject_records")
    record_id = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    shard = models.PositiveIntegerField(default=0)
    slice = models.PositiveIntegerField(default=0)
    valid_from = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="+")
    valid_until = models.ForeignKey(DatasetVersion, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    erased_in = models.ForeignKey(DatasetVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        # A lookup reads a subject's rows from this index alone (an index-only scan: no heap page per row).
        indexes = [
            models.Index(
                fields=["subject_key"],
                include=["id", "dataset", "record_id", "valid_from", "valid_until", "erased_in"],
                name="registry_subject_rows_cover",
            )
        ]
        constraints = [
            models.UniqueConstraint(fields=["dataset", "record_id", "valid_from"], name="registry_record_interval_once")
        ]


class IdentityMap(models.Model):
    """Which identifiers are one person's (an e-mail and customer ids), imported from a team's
    source: lineage and erasure resolve a requester's key to every key linked to it."""

    name = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=500, blank=True)
    source = models.JSONField(default=dict)  # where it was last imported from, without credentials
    link_count = models.PositiveIntegerField(default=0)
    created_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.name


class IdentityLink(models.Model):
    """Two subject keys of one person (keyed hashes, never identifiers), stored in both directions
    so a lookup by either is one indexed read. A request's erasure deletes its person's links."""

    identity_map = models.ForeignKey(IdentityMap, on_delete=models.CASCADE, related_name="links")
    subject_key = models.CharField(max_length=64)
    linked_key = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["identity_map", "subject_key", "linked_key"], name="registry_identity_link")
        ]
        indexes = [models.Index(fields=["subject_key"], include=["linked_key"], name="registry_identity_lookup")]


class ModelKind(models.TextChoices):
    LM = "lm"
    LM_LORA = "lm-lora"
    CLASSIFIER = "classifier"


class Model(models.Model):
    name = models.CharField(max_length=64, unique=True)  # the engine's model name
    kind = models.CharField(max_length=20, choices=ModelKind.choices)
    description = models.CharField(max_length=500, blank=True)
    # Exact (SISA shard retrain) is used whenever the version has a SISA layout; otherwise this method.
    approximate_method = models.CharField(max_length=50, default="gradient_difference")
    approximate_params = models.JSONField(default=dict, blank=True)
    verification_policy = models.JSONField(default=dict, blank=True)  # VerificationPolicy overrides
    holdout = models.ForeignKey(
        DatasetVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="holdout_for_models"
    )
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class VersionStatus(models.TextChoices):
    CANDIDATE = "candidate"
    APPROVED = "approved"
    REJECTED = "rejected"
    RELEASED = "released"
    SUPERSEDED = "superseded"


class VersionLayout(models.TextChoices):
    SISA = "sisa"  # engine ModelRegistry manifest: S shards x R slices, exact unlearning possible
    PLAIN = "plain"  # one save_pretrained directory (an engine Artifact): approximate unlearning


class ModelVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="versions")
    version_id = models.CharField(max_length=64)  # the engine's id
    layout = models.CharField(max_length=10, choices=VersionLayout.choices)
    artifact_url = models.CharField(max_length=500)
    artifact = models.JSONField(null=True, blank=True)  # plain layout: the engine Artifact dict
    digests = models.JSONField(default=dict)  # {"shards": [...]} or {"weights": ..., "files": {...}}
    trained_on = models.ForeignKey(
        DatasetVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="model_versions"
    )
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    method = models.CharField(max_length=50, default="train")  # train | sisa-exact | an approximate method
    status = models.CharField(
        max_length=20, choices=VersionStatus.choices, default=VersionStatus.CANDIDATE, db_index=True
    )
    created_by = models.CharField(max_length=200)  # who started the job that made it (four eyes)
    created_by_job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    batch = models.ForeignKey(
        "orchestration.UnlearningBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates"
    )
    verdict = models.JSONField(null=True, blank=True)
    verdict_passed = models.BooleanField(null=True)
    plots = models.JSONField(default=dict, blank=True)  # name -> object-store key of a PNG
    verification_job = models.ForeignKey("core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    cost = models.JSONField(default=dict, blank=True)
    # Imported versions: where they came from and what they are ({"source", "model_type", "architecture", ...}).
    provenance = models.JSONField(default=dict, blank=True)
    # Superseded by a release made because of erasure: it holds erased data, so it never returns.
    holds_erased_data = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model__name", "created_at"]
        constraints = [models.UniqueConstraint(fields=["model", "version_id"], name="registry_model_version_once")]

    def __str__(self) -> str:
        return f"{self.model.name}/{self.version_id}"


class Alias(models.Model):
    PRODUCTION = "production"

    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="aliases")
    name = models.CharField(max_length=50, default=PRODUCTION)
    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="aliases")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "name"], name="registry_alias_once")]


class AliasMove(models.Model):
    """History of an alias: every promotion and rollback, newest last."""

    class Action(models.TextChoices):
        RELEASE = "release"
        ROLLBACK = "rollback"

    alias = models.ForeignKey(Alias, on_delete=models.PROTECT, related_name="moves")
    from_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    to_version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.CharField(max_length=200)
    reason = models.CharField(max_length=1000, blank=True)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]


class Consumer(models.Model):
    """A downstream recipient of a model (GDPR Art. 19): told when the version it uses is superseded
    because of erasure. `pinned_version` empty means it follows the production alias."""

    model = models.ForeignKey(Model, on_delete=models.PROTECT, related_name="consumers")
    name = models.CharField(max_length=200)
    email = models.EmailField()
    pinned_version = models.ForeignKey(ModelVersion, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]


class ReleaseDecision(models.Model):
    class Decision(models.TextChoices):
        APPROVE = "approve"
        REJECT = "reject"

    version = models.ForeignKey(ModelVersion, on_delete=models.PROTECT, related_name="decisions")
    approver = models.CharField(max_length=200)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    reason = models.CharField(max_length=2000, blank=True)
    overrode_failed_verdict = models.BooleanField(default=False)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
