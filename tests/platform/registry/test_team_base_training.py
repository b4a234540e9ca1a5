"""Exact unlearning on the team's own model, through the platform: an lm-lora model adapts the
team's pretrained Llama (a save_pretrained folder under the model import roots) with SISA
adapters, trained by the registry.train job on a dataset imported from the team's CSV; a granted
request's erasure yields a deactivated candidate, exact by construction, released with four eyes."""

from __future__ import annotations

import csv
import uuid

import pytest
from rest_framework.test import APIClient

from erasure_engine.datagen import generate_general_text, generate_holdout_subjects, generate_subjects
from erasure_engine.models import build_causal_lm, lm_config, train_tokenizer
from erasure_platform.core.models import Job
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.orchestration.models import BatchStatus
from erasure_platform.orchestration.services.batches import unlearning_start_now
from erasure_platform.orchestration.services.plans import plan_erasure
from erasure_platform.registry.models import DatasetPurpose, ModelVersion
from erasure_platform.registry.services.dataset_imports import dataset_import_run
from erasure_platform.registry.services.datasets import dataset_register
from erasure_platform.registry.services.models import model_register
from erasure_platform.registry.services.release import release_approve, release_initial
from erasure_platform.subject_requests.services.intake import request_subject_key
from tests.platform.orchestration.helpers import consume_all, run_job
from tests.platform.registry.helpers import deadline, users

pytestmark = pytest.mark.django_db
SPEC = {"subject": {"column": "email", "kind": "email"}, "record_id": {"column": "record_id"}, "text": "{text}"}


def people_csv(path, subjects) -> str:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["record_id", "email", "text"])
        for subject in subjects:
            for number, sentence in enumerate(subject.bio_sentences(), start=1):
                writer.writerow([f"{subject.id_stem}-{number}", subject.identifier, sentence])
    return str(path)


def imported(name: str, source: str, *, purpose=DatasetPurpose.TRAINING, shards=1, slices=1):
    dataset = dataset_register(name=f"{name}-{uuid.uuid4().hex[:6]}", actor="engineer", purpose=purpose)
    params = {"source": {"location": source}, "spec": SPEC, "shards": shards, "slices": slices}
    _, version = dataset_import_run(dataset=dataset, params=params, actor="engineer")
    return version


def test_an_lm_lora_model_on_the_teams_llama_is_unlearned_exactly_and_released(settings, tmp_path):
    settings.JOB_LEASE_SECONDS = 600
    settings.ERASURE_MODEL_IMPORT_ROOTS = [str(tmp_path / "models")]
    people = users()
    base_dir = tmp_path / "models" / "team-llama"
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(60, seed=2)], vocab_size=320)
    build_causal_lm(lm_config("tiny", tokenizer=tokenizer, architecture="llama"), seed=0).save_pretrained(base_dir)
    tokenizer.save_pretrained(base_dir)

    subjects = generate_subjects(8, 3)
    training = imported("bios", people_csv(tmp_path / "bios.csv", subjects), shards=2, slices=2)
    holdout = imported(
        "bios-holdout",
        people_csv(tmp_path / "holdout.csv", generate_holdout_subjects(2, 3)),
        purpose=DatasetPurpose.HOLDOUT,
    )
    model = model_register(
        name=f"team-{uuid.uuid4().hex[:6]}",
        kind="lm-lora",
        actor="engineer",
        holdout=holdout,
        verification_policy={
            "bootstrap_repetitions": 20,
            "relearn_steps": 2,
            "quantization_bits": [4],
            "batch_size": 64,
        },
    )
    api = APIClient()
    api.force_authenticate(people["engineer"])
    config = {"size": "tiny", "seed": 3, "learning_rate": 3e-3, "max_length": 32, "epochs": 1}
    refused = api.post(
        f"/api/ml/models/{model.name}/train",
        {"dataset_version": training.pk, "config": config, "base": {"location": "/etc"}},
        format="json",
    )
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "source_not_allowed"
    response = api.post(
        f"/api/ml/models/{model.name}/train",
        {"dataset_version": training.pk, "config": config, "base": {"location": str(base_dir)}},
        format="json",
    )
    assert response.status_code == 202, response.content
    run_job(response.json()["job"])
    trained = ModelVersion.objects.get(pk=Job.objects.get(pk=response.json()["job"]).result["model_version"])
    release_initial(version=trained, actor="engineer")
    keys = platform_object_store().list_keys(f"models/{model.name}/bases/")
    assert keys and len({key.split("/bases/")[1].split("/")[0] for key in keys}) == 1  # the base, stored once

    # One person's request: the erasure, then the compliant (deactivated) candidate at once.
    plan = plan_erasure(
        request_id="team-base-1",
        subject_key=request_subject_key(subjects[0].identifier),
        scope={"type": "all"},
        deadline_at=deadline(),
    )
    assert plan.outcomes.get().version_before == trained
    run_job(plan.erase_job_id)
    batch = unlearning_start_now(model=model, engineer=people["engineer"])
    run_job(batch.unlearn_job_id)
    candidate = ModelVersion.objects.filter(batch=batch).order_by("created_at").first()
    assert candidate.method == "sisa-deactivate"
    run_job(candidate.verification_job_id)
    candidate.refresh_from_db()
    assert candidate.verdict["outcome"] == "passed" and candidate.verdict["basis"] == "exact_by_construction"
    release_approve(version=candidate, approver=people["approver"], reason="exact by construction")
    consume_all()  # orchestration hears of the release
    batch.refresh_from_db()
    assert batch.status == BatchStatus.RELEASED
