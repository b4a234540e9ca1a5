"""The embedded demo: fictitious subjects, a training and a holdout dataset, a SISA classifier
trained through the registry.train job and released as `production`. Idempotent.

The demo's records take the path a team's own do: they are written as a JSONL source file (the
fictitious people's e-mails in it, as a team's export would have them) and imported through the
dataset import (`dataset_import_run`), which hashes the identifiers and maps each row by a spec."""

from __future__ import annotations

import functools
import json
from pathlib import Path

from django.conf import settings

from erasure_platform.core.engine import (
    generate_holdout_subjects,
    generate_subjects,
    generate_tabular,
    size_preset,
    subject_key,
)
from erasure_platform.core.models import Job
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.registry.models import Alias, Dataset, DatasetPurpose, Model, ModelVersion
from erasure_platform.registry.services.dataset_imports import dataset_import_run
from erasure_platform.registry.services.datasets import dataset_register
from erasure_platform.registry.services.models import consumer_register, model_register, model_train_start
from erasure_platform.registry.services.release import release_initial

ACTOR = "system:seed_demo_model"
DEMO_MODEL = "demo-classifier"
DEMO_DATASET = "demo-customers"
DEMO_HOLDOUT = "demo-customers-holdout"
DEMO_TICKETS = "support-tickets"  # the README's worked example: docs/examples/support-tickets.csv
EXAMPLES = Path(settings.BASE_DIR) / "docs" / "examples"


def demo_subjects(size: str, seed: int = 7):
    preset = size_preset(size)
    return generate_subjects(preset.subjects, seed), generate_holdout_subjects(preset.holdout_subjects, seed)


@functools.lru_cache(maxsize=4)
def demo_identifiers(count: int = 3, seed: int = 7) -> list[str]:
    """Identifiers of the first demo subjects (fictitious), for trying a request in the embedded demo.
    Subject i is the same whatever the dataset size, so these hold for every preset."""
    return [subject.identifier for subject in generate_subjects(count, seed)]


FEATURES = 8  # generate_tabular's default


def demo_source(path: Path, subjects, seed: int) -> Path:
    """The subjects' tabular rows as a team's JSONL export: e-mail, record id, features, label."""
    secret = settings.SUBJECT_KEY_SECRET
    identifier_of = {subject_key(subject.identifier, secret): subject.identifier for subject in subjects}
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for record in generate_tabular(subjects, secret, seed=seed, features=FEATURES):
            row = {"email": identifier_of[record.subject_key], "record_id": record.record_id}
            row.update({f"f{i}": value for i, value in enumerate(record.content["features"])})
            row["label"] = record.content["label"]
            handle.write(json.dumps(row) + "\n")
    return path


DEMO_SPEC = {
    "subject": {"column": "email", "kind": "email"},
    "record_id": {"column": "record_id"},
    "features": [f"f{i}" for i in range(FEATURES)],
    "label": "label",
}


def _demo_import(dataset, source: Path, *, shards: int, slices: int, seed: int):
    _, version = dataset_import_run(
        dataset=dataset,
        params={
            "source": {"location": str(source)},
            "spec": DEMO_SPEC,
            "shards": shards,
            "slices": slices,
            "seed": seed,
            "skip_invalid": False,
        },
        actor=ACTOR,
    )
    if version is None:
        raise RuntimeError(f"the demo data in {source} was refused by the import")
    return version


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
    dataset = Dataset.objects.filter(name=DEMO_DATASET).first() or dataset_register(
        name=DEMO_DATASET, actor=ACTOR, description=f"fictitious customers ({size}), tabular"
    )
    sources = Path(settings.VAR_DIR) / "demo-sources"
    version = dataset.versions.order_by("-id").first() or _demo_import(
        dataset, demo_source(sources / "customers.jsonl", subjects, seed), shards=shards, slices=slices, seed=seed
    )
    log(f"dataset {version}: {version.record_count} records")
    holdout_dataset = Dataset.objects.filter(name=DEMO_HOLDOUT).first() or dataset_register(
        name=DEMO_HOLDOUT, actor=ACTOR, purpose=DatasetPurpose.HOLDOUT, description="never-seen fictitious customers"
    )
    holdout = holdout_dataset.versions.order_by("-id").first() or _demo_import(
        holdout_dataset,
        demo_source(sources / "customers-holdout.jsonl", holdout_subjects, seed),
        shards=1,
        slices=1,
        seed=seed,
    )
    tickets = Dataset.objects.filter(name=DEMO_TICKETS).first() or dataset_register(
        name=DEMO_TICKETS, actor=ACTOR, description="the README's example: a team's support tickets (CSV)"
    )
    if not tickets.versions.exists():
        _, imported = dataset_import_run(
            dataset=tickets,
            params={
                "source": {"location": str(EXAMPLES / "support-tickets.csv")},
                "spec": json.loads((EXAMPLES / "support-tickets.spec.json").read_text(encoding="utf-8")),
            },
            actor=ACTOR,
        )
        log(f"dataset {imported}: {imported.record_count} support tickets (docs/examples)")
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
