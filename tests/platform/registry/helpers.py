"""Building registry state for tests: users per role, small worlds with real engine objects."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from erasure_engine.datagen import generate_holdout_subjects, generate_subjects, generate_tabular, records_from_subjects
from erasure_engine.records import subject_key
from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_create
from erasure_platform.core.models import Job
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan, ModelOutcome, UnlearningBatch
from erasure_platform.orchestration.services.restore import batch_shard_jobs, finalize_job_key
from erasure_platform.registry.models import (
    Alias,
    AliasMove,
    DatasetPurpose,
    ModelVersion,
    VersionLayout,
    VersionStatus,
)
from erasure_platform.registry.services.datasets import dataset_register, dataset_version_create
from erasure_platform.registry.services.models import model_register, model_train_start
from erasure_platform.registry.services.release import release_initial

PASSWORD = "test-pass-2026"
TINY_TRAINING = {
    "classifier": {"size": "tiny", "seed": 3, "learning_rate": 0.01},
    "lm": {"size": "tiny", "seed": 3, "learning_rate": 3e-3, "max_length": 32, "vocab_size": 300, "base_epochs": 1},
}


def make_user(username: str, *roles: Role):
    return user_create(username=username, password=PASSWORD, roles=list(roles))


def users():
    return {
        "officer": make_user("officer", Role.OFFICER),
        "engineer": make_user("engineer", Role.ML_ENGINEER),
        "approver": make_user("approver", Role.RELEASE_APPROVER),
        "auditor": make_user("auditor", Role.AUDITOR),
        # Holds both roles: four eyes must still stop them approving their own job.
        "engineer_approver": make_user("engineer_approver", Role.ML_ENGINEER, Role.RELEASE_APPROVER),
    }


class World:
    def __init__(
        self,
        *,
        train: bool = True,
        subjects: int = 12,
        shards: int = 2,
        slices: int = 2,
        epochs: int = 1,
        kind: str = "classifier",
    ):
        suffix = uuid.uuid4().hex[:8]
        self.subjects = generate_subjects(subjects, 3)
        holdout_subjects = generate_holdout_subjects(6 if kind == "classifier" else 2, 3)
        secret = settings.SUBJECT_KEY_SECRET

        def make_records(people):
            if kind == "classifier":
                return generate_tabular(people, secret, seed=3, records_per_subject=3)
            return records_from_subjects(people, secret)

        self.records = make_records(self.subjects)
        self.dataset = dataset_register(name=f"ds-{suffix}", actor="test")
        self.version = dataset_version_create(
            dataset=self.dataset, records=self.records, shards=shards, slices=slices, seed=3, actor="test"
        )
        holdout_dataset = dataset_register(name=f"hold-{suffix}", actor="test", purpose=DatasetPurpose.HOLDOUT)
        self.holdout = dataset_version_create(
            dataset=holdout_dataset, records=make_records(holdout_subjects), shards=1, slices=1, seed=3, actor="test"
        )
        policy = {"bootstrap_repetitions": 20, "relearn_steps": 2}
        if kind != "classifier":
            policy.update(quantization_bits=[4], batch_size=64, extraction_max_new_tokens=8)
        self.model = model_register(
            name=f"m-{suffix}", kind=kind, actor="test", holdout=self.holdout, verification_policy=policy
        )
        self.production = None
        if train:
            job = model_train_start(
                model=self.model,
                dataset_version=self.version,
                actor="engineer",
                config=TINY_TRAINING[kind] | {"epochs": epochs},
            )
            assert job_execute(job_id=job.pk, worker="test") == Job.Status.SUCCEEDED, Job.objects.get(pk=job.pk).error
            job.refresh_from_db()
            candidate = ModelVersion.objects.get(pk=job.result["model_version"])
            self.production = release_initial(version=candidate, actor="test")

    def key(self, index: int) -> str:
        return subject_key(self.subjects[index].identifier, settings.SUBJECT_KEY_SECRET)


def fake_version(
    model,
    *,
    created_by="engineer",
    status=VersionStatus.CANDIDATE,
    batch=None,
    verdict=None,
    trained_on=None,
    parent=None,
):
    """A version row without engine artifacts, for release transitions."""
    return ModelVersion.objects.create(
        model=model,
        version_id=f"v-{uuid.uuid4().hex[:16]}",
        layout=VersionLayout.SISA,
        artifact_url="file:///x",
        status=status,
        created_by=created_by,
        batch=batch,
        verdict=verdict,
        verdict_passed=None if verdict is None else bool(verdict.get("passed")),
        trained_on=trained_on,
        parent=parent,
    )


def make_production(model, version, actor="test"):
    alias, _ = Alias.objects.get_or_create(model=model, name=Alias.PRODUCTION, defaults={"version": version})
    AliasMove.objects.create(alias=alias, from_version=None, to_version=version, action="release", actor=actor)
    version.status = VersionStatus.RELEASED
    version.save()
    return version


def deadline(days: float = 30):
    return timezone.now() + timedelta(days=days)


# What the engine writes, as it writes it: slugs, dotted metric names, long floats, nested dicts.
ENGINE_LIKE_VERDICT = {
    "kind": "classifier",
    "outcome": "failed",
    "passed": False,
    "basis": "statistical",
    "reason": "failed: membership.loss.auc, utility.retain_accuracy_drop",
    "failed_metrics": ["membership.loss.auc", "utility.retain_accuracy_drop"],
    "inconclusive_metrics": ["oracle.forget_quality"],
    "calibration": {"parent_failed": True, "oracle_passed": True, "parent": {}, "oracle": {}},
    "metrics": [
        {
            "name": "membership.loss.auc",
            "value": 0.6234567891234,
            "threshold": 0.0512345678,
            "target": 0.49876543219,
            "direction": "not_above_target",
            "outcome": "failed",
            "passed": False,
            "reason": "exceeds its target by 0.124691357, more than margin 0.05 + noise allowance 0.0012345678",
        },
        {
            "name": "oracle.forget_quality",
            "value": 0.000123456789,
            "threshold": 0.05,
            "target": None,
            "direction": "higher_is_better",
            "outcome": "inconclusive",
            "passed": None,
            "reason": "the oracle control does not pass this check (p = 0.0001235 < 0.05: differs from the oracle)",
        },
        {
            "name": "utility.retain_accuracy_drop",
            "value": 0.0333333333333,
            "threshold": 0.02,
            "target": 0.0,
            "direction": "closer_to_target_is_better",
            "outcome": "failed",
            "passed": False,
            "reason": "",
        },
        {
            "name": "membership.loss.tpr_at_low_fpr",
            "value": 0.1666666666667,
            "threshold": None,
            "target": None,
            "direction": "lower_is_better",
            "outcome": "reported",
            "passed": None,
            "reason": "",
        },
    ],
}
ENGINE_LIKE_COST = {
    "seconds": 93.123456789,
    "samples_processed": 1234,
    "slices_retrained": 3,
    "slices_total": 4,
    "fraction_of_full_retrain": 0.7512345678,
    "fraction_of_full_retrain_seconds": None,
    "full_training_seconds": 4000.987654321,
    "per_shard": [{"shard": 0, "seconds": 1.234567, "samples_processed": 600}],
    "params": {"learning_rate": 0.000123456, "forget_weight": 1.5},
}


def worded_candidate(model, *, request_id: str, started_by: str = "system:orchestration"):
    """A failed candidate with an engine-like verdict and cost, whose batch served the request `request_id`."""

    parent = fake_version(model, status=VersionStatus.RELEASED)
    batch = UnlearningBatch.objects.create(
        model=model,
        opens_at=timezone.now(),
        closes_at=timezone.now(),
        status=BatchStatus.AWAITING_APPROVAL,
        started_by=started_by,
        parent_version=parent,
    )
    plan = ErasurePlan.objects.create(request_id=request_id, subject_key="a" * 64, deadline_at=deadline())
    ModelOutcome.objects.create(plan=plan, model=model, batch=batch, version_before=parent)
    candidate = fake_version(model, created_by=started_by, batch=batch, verdict=ENGINE_LIKE_VERDICT, parent=parent)
    candidate.method = "gradient_difference"
    candidate.cost = ENGINE_LIKE_COST
    candidate.save()
    return candidate


def run_restoring_retrain(batch):
    """Run a SISA batch's restoring retrain in this process, as the gpu workers would: every
    shard job (each stores its result, the last one starts the finalize job), then finalize.
    Returns the full-quality candidate."""

    shard_jobs = batch_shard_jobs(batch.pk)
    assert shard_jobs, "the unlearn job planned no shard retrain"
    for job in shard_jobs:
        assert job_execute(job_id=job.pk, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(pk=job.pk).error
    finalize = Job.objects.get(idempotency_key=finalize_job_key(batch.pk))
    assert job_execute(job_id=finalize.pk, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(pk=finalize.pk).error
    finalize.refresh_from_db()
    return ModelVersion.objects.get(pk=finalize.result["candidate"])
