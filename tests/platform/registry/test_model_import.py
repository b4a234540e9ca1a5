"""Bring your own model: a model trained elsewhere (Llama, GPT-NeoX, OPT) is imported from S3 through
the API, lineage finds it, and a granted erasure unlearns (its approximate method), verifies and
releases it, keeping its architecture; wrong checkpoints and paths are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from django.core.management import CommandError, call_command
from django.test import Client
from rest_framework.test import APIClient
from safetensors.torch import save_file

from erasure_engine.datagen import generate_general_text
from erasure_engine.models import build_causal_lm, file_sha256, lm_config, train_tokenizer
from erasure_engine.unlearning.approximate.tasks import LanguageModelTask, mean_nll
from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.models import AuditEvent, Job
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.orchestration.services.batches import unlearning_start_now
from erasure_platform.orchestration.services.plans import plan_erasure
from erasure_platform.registry import loading, selectors
from erasure_platform.registry.models import Alias, ModelVersion, VersionStatus
from erasure_platform.registry.services.imports import model_version_import
from erasure_platform.registry.services.release import release_approve
from tests.platform.registry.helpers import PASSWORD, World, deadline, users

pytestmark = pytest.mark.django_db
torch.set_num_threads(1)


# Every family the engine supports goes through the whole platform path (import → erasure →
# unlearning → verification → release) and keeps its architecture.
CLASSES = {
    "gpt2": "GPT2LMHeadModel",
    "llama": "LlamaForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "mistral": "MistralForCausalLM",
    "gpt_neox": "GPTNeoXForCausalLM",
    "phi": "PhiForCausalLM",
    "opt": "OPTForCausalLM",
}


def model_trained_on(records, directory: Path, *, steps: int = 20, architecture: str = "llama") -> Path:
    """A tiny model of `architecture` (Llama by default) trained here (briefly) on `records`, saved with its tokenizer."""
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(40, seed=2)], vocab_size=320)
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer, architecture=architecture), seed=0)
    task = LanguageModelTask(model, tokenizer)
    items = task.prepare(records, "train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    for _ in range(steps):
        loss = mean_nll(task, model, task.collate(items, torch.device("cpu")))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def upload(s3_client, bucket: str, prefix: str, directory: Path) -> str:
    for path in directory.iterdir():
        s3_client.upload_file(str(path), bucket, f"{prefix}/{path.name}")
    return f"s3://{bucket}/{prefix}"


@pytest.mark.parametrize("architecture", sorted(CLASSES))
def test_imported_model_goes_through_erasure_unlearning_verification_and_release(
    architecture, settings, tmp_path, s3_endpoint, s3_client, s3_bucket
):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    settings.JOB_LEASE_SECONDS = 600
    settings.OBJECT_STORE_ENDPOINT_URL = s3_endpoint
    settings.ERASURE_MODEL_IMPORT_ROOTS = [f"s3://{s3_bucket}/team"]
    people = users()
    world = World(train=False, kind="lm", subjects=4, shards=1, slices=1)
    world.model.approximate_method = "npo"
    world.model.approximate_params = {"steps": 3, "lr": 1e-3}
    world.model.save(update_fields=["approximate_method", "approximate_params"])
    directory = model_trained_on(world.records, tmp_path / architecture, architecture=architecture)
    source = upload(s3_client, s3_bucket, f"team/{architecture}-v3", directory)

    api = APIClient()
    api.force_authenticate(people["engineer"])
    response = api.post(
        f"/api/ml/models/{world.model.name}/versions/import",
        {"source": source, "trained_on": world.version.pk, "make_production": True},
        format="json",
    )
    assert response.status_code == 202, response.content
    job_id = response.json()["job"]
    assert job_execute(job_id=job_id, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(pk=job_id).error
    imported = ModelVersion.objects.get(pk=Job.objects.get(pk=job_id).result["model_version"])
    assert imported.method == "import" and imported.layout == "plain" and imported.status == VersionStatus.RELEASED
    assert (
        imported.provenance["model_type"] == architecture
        and imported.provenance["architecture"] == CLASSES[architecture]
    )
    assert imported.provenance["source"] == source
    assert imported.digests["files"]["model.safetensors"] == file_sha256(directory / "model.safetensors")
    assert AuditEvent.objects.filter(action="model_version.imported", entity_id=str(imported.pk)).exists()
    shown = api.get(f"/api/ml/versions/{imported.pk}").json()
    assert shown["provenance"]["model_type"] == architecture
    browser = Client()
    browser.login(username="auditor", password=PASSWORD)
    assert CLASSES[architecture] in browser.get(f"/ml/versions/{imported.pk}/").content.decode()

    lineage = selectors.lineage_for_subject(subject_key=world.key(0))
    assert [(e["model_version"], e["production"]) for e in lineage.model_versions] == [(imported, True)]

    plan = plan_erasure(request_id="byom-1", subject_key=world.key(0), scope={"type": "all"}, deadline_at=deadline())
    assert plan.outcomes.get().version_before == imported
    assert job_execute(job_id=plan.erase_job_id, worker="t") == Job.Status.SUCCEEDED
    batch = unlearning_start_now(model=world.model, engineer=people["engineer"])
    assert job_execute(job_id=batch.unlearn_job_id, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(
        pk=batch.unlearn_job_id
    ).error
    candidate = world.model.versions.get(batch=batch)
    assert candidate.method == "npo" and candidate.layout == "plain" and candidate.parent == imported
    assert candidate.digests["weights"] != imported.digests["weights"]
    module, tokenizer = loading.load_plain(candidate)
    assert type(module).__name__ == CLASSES[architecture] and module.config.model_type == architecture
    assert tokenizer is not None
    # The candidate's record says what it holds, as the imported version's does.
    assert candidate.provenance["model_type"] == architecture
    assert candidate.provenance["architecture"] == CLASSES[architecture]
    assert candidate.provenance["derived_from"] == imported.version_id and candidate.provenance["method"] == "npo"
    assert api.get(f"/api/ml/versions/{candidate.pk}").json()["provenance"]["model_type"] == architecture
    page = browser.get(f"/ml/versions/{candidate.pk}/").content.decode()
    assert f"Made from {imported.version_id} by NPO: {CLASSES[architecture]}" in page

    verify_job = Job.objects.get(pk=candidate.verification_job_id)
    assert job_execute(job_id=verify_job.pk, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(
        pk=verify_job.pk
    ).error
    candidate.refresh_from_db()
    assert candidate.verdict["kind"] == "causal_lm" and candidate.verdict["metrics"]
    release_approve(
        version=candidate,
        approver=people["approver"],
        reason="verified",
        override_reason="" if candidate.verdict_passed else "tiny test model: verdict reviewed by hand",
    )
    assert Alias.objects.get(model=world.model).version == candidate
    imported.refresh_from_db()
    assert imported.status == VersionStatus.SUPERSEDED and imported.holds_erased_data


@pytest.fixture
def lm_world():
    return World(train=False, kind="lm", subjects=2, shards=1, slices=1)


def untrained_llama(world, directory: Path) -> Path:
    return model_trained_on(world.records, directory, steps=0)


def refused(callable_, code: str) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        callable_()
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_pickle_mismatched_and_wrong_kind_checkpoints_are_refused_and_nothing_is_recorded(lm_world, tmp_path):
    directory = untrained_llama(lm_world, tmp_path / "llama")

    def attempt(model=lm_world.model):
        return model_version_import(
            model=model, source=str(directory), trained_on=lm_world.version, actor="engineer", any_local_path=True
        )

    state = {
        name: tensor.contiguous()
        for name, tensor in __import__("safetensors.torch", fromlist=["load_file"])
        .load_file(str(directory / "model.safetensors"))
        .items()
    }
    save_file({k: v for k, v in state.items() if "layers.1." not in k}, str(directory / "model.safetensors"))
    assert "missing keys" in refused(attempt, "checkpoint_mismatch").message
    (directory / "model.safetensors").unlink()
    torch.save(state, directory / "pytorch_model.bin")
    assert "pickle" in refused(attempt, "unsafe_checkpoint").message
    assert not lm_world.model.versions.exists()

    classifier_world = World(train=False, subjects=2, shards=1, slices=1)
    other = untrained_llama(lm_world, tmp_path / "other")
    refused(
        lambda: model_version_import(
            model=classifier_world.model,
            source=str(other),
            trained_on=classifier_world.version,
            actor="engineer",
            any_local_path=True,
        ),
        "kind_mismatch",
    )


def test_api_and_portal_only_import_from_allowed_places_and_only_for_engineers(settings, lm_world, tmp_path):
    people = users()
    settings.ERASURE_MODEL_IMPORT_ROOTS = [str(tmp_path / "imports")]
    directory = untrained_llama(lm_world, tmp_path / "imports" / "llama")
    outside = untrained_llama(lm_world, tmp_path / "elsewhere")
    url = f"/api/ml/models/{lm_world.model.name}/versions/import"
    body = {"source": str(directory), "trained_on": lm_world.version.pk}

    approver = APIClient()
    approver.force_authenticate(people["approver"])
    assert approver.post(url, body, format="json").status_code == 403
    engineer = APIClient()
    engineer.force_authenticate(people["engineer"])
    response = engineer.post(url, {**body, "source": str(outside)}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "source_not_allowed"
    assert (
        engineer.post(url, {**body, "source": "http://example.org/x"}, format="json").json()["error"]["code"]
        == "invalid_source"
    )
    assert (
        engineer.post(url, {**body, "source": "s3://other-bucket/x"}, format="json").json()["error"]["code"]
        == "source_not_allowed"
    )
    (tmp_path / "imports" / "linked").mkdir()
    (tmp_path / "imports" / "linked" / "config.json").symlink_to(outside / "config.json")
    linked = {**body, "source": str(tmp_path / "imports" / "linked")}
    assert engineer.post(url, linked, format="json").json()["error"]["code"] == "invalid_source"
    assert (
        engineer.post(url, {**body, "trained_on": lm_world.holdout.pk}, format="json").json()["error"]["code"]
        == "invalid_dataset"
    )

    browser = Client()
    browser.login(username="engineer", password=PASSWORD)
    page = browser.get(f"/ml/models/{lm_world.model.name}/")
    assert b"Import a version trained elsewhere" in page.content
    response = browser.post(
        f"/ml/models/{lm_world.model.name}/import",
        {"source": str(directory), "trained_on": str(lm_world.version.pk), "version_id": "team-v1"},
    )
    job = Job.objects.get(kind="registry.import")
    assert response.status_code == 302 and response.url == f"/ml/jobs/{job.pk}/"
    assert job_execute(job_id=job.pk, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(pk=job.pk).error
    version = lm_world.model.versions.get(version_id="team-v1")
    assert version.provenance["model_type"] == "llama" and version.status == VersionStatus.CANDIDATE
    auditor = Client()
    auditor.login(username="auditor", password=PASSWORD)
    assert auditor.post(f"/ml/models/{lm_world.model.name}/import", {"source": str(directory)}).status_code == 403


def test_management_command_imports_any_local_directory_and_is_idempotent(lm_world, tmp_path, capsys):
    directory = untrained_llama(lm_world, tmp_path / "anywhere")
    arguments = [
        "registry_import_model",
        "--model",
        lm_world.model.name,
        "--source",
        str(directory),
        "--dataset",
        lm_world.dataset.name,
        "--dataset-version",
        lm_world.version.version_id,
        "--make-production",
    ]
    call_command(*arguments)
    version = lm_world.model.versions.get()
    assert version.status == VersionStatus.RELEASED and version.version_id.startswith("import-")
    assert "LlamaForCausalLM" in capsys.readouterr().out
    call_command(*arguments[:-1])  # same files: the same version, nothing new
    assert lm_world.model.versions.count() == 1
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "model_type": "gpt2"}))
    with pytest.raises(CommandError, match="checkpoint_mismatch"):
        call_command(*arguments[:-1])
