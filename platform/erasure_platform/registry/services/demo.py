"""The embedded demo: fictitious subjects, a training and a holdout dataset, a SISA classifier
trained through the registry.train job and released as `production`. Idempotent."""

from __future__ import annotations

import functools

from django.conf import settings

from erasure_platform.core.engine import generate_holdout_subjects, generate_subjects, generate_tabular, size_preset
from erasure_platform.core.models import Job
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.registry.models import Alias, Dataset, DatasetPurpose, Model, ModelVersion
from erasure_platform.registry.services.datasets import dataset_register, dataset_version_create
from erasure_platform.registry.services.models import consumer_register, model_register, model_train_start
from erasure_platform.registry.services.release import release_initial

ACTOR = "system:seed_demo_model"
DEMO_MODEL = "demo-classifier"
DEMO_DATASET = "demo-customers"
DEMO_HOLDOUT = "demo-customers-holdout"


def demo_subjects(size: str, seed: int = 7):
    preset = size_preset(size)
    return generate_subjects(preset.subjects, seed), generate_holdout_subjects(preset.holdout_subjects, seed)


@functools.lru_cache(maxsize=4)
def demo_identifiers(count: int = 3, seed: int = 7) -> list[str]:
    """Identifiers of the first demo subjects (fictitious), for trying a request in the embedded demo.
    Subject i is the same whatever the dataset size, so these hold for every preset."""
    return [subject.identifier for subject in generate_subjects(count, seed)]


def demo_seed(
    *,
    size: str = "small",
    shards: int = 4,
    slices: int = 2,
    epochs: int = 4,
    seed: int = 7,
    model_name: str = DEMO_MODEL,
    log=print,
) -> ModelVersion:
    existing = Alias.objects.filter(model__name=model_name, name=Alias.PRODUCTION).select_related("version").first()
    if existing is not None:
        log(f"demo model {model_name} already released: {existing.version.version_id}")
        return existing.version
    subjects, holdout_subjects = demo_subjects(size, seed)
    secret = settings.SUBJECT_KEY_SECRET
    dataset = Dataset.objects.filter(name=DEMO_DATASET).first() or dataset_register(
        name=DEMO_DATASET, actor=ACTOR, description=f"fictitious customers ({size}), tabular"
    )
    version = dataset.versions.order_by("-id").first() or dataset_version_create(
        dataset=dataset,
        records=generate_tabular(subjects, secret, seed=seed),
        shards=shards,
        slices=slices,
        seed=seed,
        actor=ACTOR,
    )
    log(f"dataset {version}: {version.record_count} records")
    holdout_dataset = Dataset.objects.filter(name=DEMO_HOLDOUT).first() or dataset_register(
        name=DEMO_HOLDOUT, actor=ACTOR, purpose=DatasetPurpose.HOLDOUT, description="never-seen fictitious customers"
    )
    holdout = holdout_dataset.versions.order_by("-id").first() or dataset_version_create(
        dataset=holdout_dataset,
        records=generate_tabular(holdout_subjects, secret, seed=seed),
        shards=1,
        slices=1,
        seed=seed,
        actor=ACTOR,
    )
    model = Model.objects.filter(name=model_name).first() or model_register(
        name=model_name,
        kind="classifier",
        actor=ACTOR,
        holdout=holdout,
        description="demo SISA classifier on fictitious customers",
        verification_policy={"bootstrap_repetitions": 50, "relearn_steps": 5},
    )
    if not model.consumers.exists():
        consumer_register(model=model, name="Demo analytics team", email="analytics@example.org", actor=ACTOR)
    candidate = model.versions.filter(trained_on=version, method="train").first()
    if candidate is None:
        job = model_train_start(
            model=model,
            dataset_version=version,
            actor=ACTOR,
            config={"size": "tiny", "epochs": epochs, "seed": seed, "learning_rate": 0.01},
        )
        log(f"training {model_name} (job {job.pk}) ...")
        job_execute(job_id=job.pk, worker="seed_demo_model")
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED:
            raise RuntimeError(f"training failed: {job.error}")
        candidate = ModelVersion.objects.get(pk=job.result["model_version"])
    released = release_initial(version=candidate, actor=ACTOR)
    log(f"model {model_name} {released.version_id} released as production")
    log(f"demo identifiers to try a request with: {', '.join(demo_identifiers(seed=seed))}")
    return released
