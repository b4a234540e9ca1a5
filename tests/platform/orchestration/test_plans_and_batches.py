from datetime import timedelta

import pytest
from django.utils import timezone

from erasure_platform.core.errors import Conflict, PermissionDenied
from erasure_platform.core.models import Job, OutboxEvent
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan, ModelOutcome
from erasure_platform.orchestration.services.batches import batch_close_if_due, batch_closing_time, unlearning_start_now
from erasure_platform.orchestration.services.plans import outcome_skip, plan_erasure
from erasure_platform.registry import selectors
from erasure_platform.registry.models import SubjectRecord
from tests.platform.orchestration.helpers import erase_and_unlearn
from tests.platform.registry.helpers import World, deadline, run_restoring_retrain, users

pytestmark = pytest.mark.django_db


def test_closing_time_is_window_bounded_by_max_age_and_deadline(settings):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 100
    settings.ERASURE_BATCH_MAX_AGE_SECONDS = 1000
    settings.ERASURE_BATCH_DEADLINE_MARGIN_SECONDS = 50
    now = timezone.now()
    far = now + timedelta(days=30)
    assert batch_closing_time(opens_at=now, last_joined_at=now, earliest_deadline=far) == now + timedelta(seconds=100)
    late_join = now + timedelta(seconds=950)
    assert batch_closing_time(opens_at=now, last_joined_at=late_join, earliest_deadline=far) == now + timedelta(
        seconds=1000
    )
    soon = now + timedelta(seconds=80)
    assert batch_closing_time(opens_at=now, last_joined_at=now, earliest_deadline=soon) == now + timedelta(seconds=30)
    # A deadline already inside the margin closes the batch at once, never in the past.
    assert batch_closing_time(opens_at=now, last_joined_at=now, earliest_deadline=now) == now


def test_lineage_lookup_finds_dataset_and_model_versions():
    world = World()
    lineage = selectors.lineage_for_subject(subject_key=world.key(0))
    assert [entry["dataset_version"] for entry in lineage.dataset_versions] == [world.version]
    assert len(lineage.dataset_versions[0]["record_ids"]) == 3
    assert [entry["model_version"] for entry in lineage.model_versions] == [world.production]
    assert lineage.model_versions[0]["production"]
    assert selectors.lineage_for_subject(subject_key="0" * 64).dataset_versions == []
    # The holdout is never "holding" a training subject, and is not a training target.
    assert selectors.current_versions_holding(subject_keys=[world.key(0)]) == [world.version]


def test_grant_erases_datasets_and_batches_the_model(settings):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    world = World()
    plan = plan_erasure(request_id="r-1", subject_key=world.key(1), scope={"type": "all"}, deadline_at=deadline())
    assert (
        plan_erasure(request_id="r-1", subject_key=world.key(1), scope={"type": "all"}, deadline_at=deadline()) == plan
    )
    outcome = plan.outcomes.get()
    assert outcome.model == world.model and outcome.version_before == world.production
    index_rows_before = SubjectRecord.objects.count()
    assert job_execute(job_id=plan.erase_job_id, worker="t") == Job.Status.SUCCEEDED
    plan.refresh_from_db()
    assert plan.status == ErasurePlan.Status.AWAITING_MODELS
    [entry] = plan.datasets
    assert entry["version_before"] == "v0001" and entry["version_after"] == "v0002" and len(entry["removed"]) == 3
    new = world.dataset.versions.get(version_id="v0002")
    # The index wrote nothing for the records that stayed: the erased records' intervals end at v0002.
    assert SubjectRecord.objects.count() == index_rows_before
    erased_rows = SubjectRecord.objects.filter(subject_key=world.key(1))
    assert erased_rows.count() == 3 and {(r.valid_until_id, r.erased_in_id) for r in erased_rows} == {(new.pk, new.pk)}
    assert new.pk not in {
        entry["dataset_version"].pk
        for entry in selectors.lineage_for_subject(subject_key=world.key(1)).dataset_versions
    }
    assert selectors.current_versions_holding(subject_keys=[world.key(1)]) == []
    assert selectors.current_versions_holding(subject_keys=[world.key(2)]) == [new]
    world.version.refresh_from_db()
    assert world.version.purged
    # Lineage still names the model (it holds the data until unlearned), not the erased dataset.
    lineage = selectors.lineage_for_subject(subject_key=world.key(1))
    assert not any(entry["holds_data"] for entry in lineage.dataset_versions)
    assert [e["model_version"] for e in lineage.model_versions] == [world.production]
    outcome.refresh_from_db()
    assert outcome.batch.status == BatchStatus.OPEN
    stages = list(OutboxEvent.objects.filter(topic="request.erasure_progress").values_list("payload__stage", flat=True))
    assert stages[:3] == ["planned", "datasets_erased", "batched"]
    assert plan.forget_set_key


def test_requests_join_one_batch_and_the_deadline_closes_it_early(settings):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    settings.ERASURE_BATCH_MAX_AGE_SECONDS = 7200
    settings.ERASURE_BATCH_DEADLINE_MARGIN_SECONDS = 600
    world = World()
    first = plan_erasure(request_id="a", subject_key=world.key(0), scope={"type": "all"}, deadline_at=deadline(30))
    job_execute(job_id=first.erase_job_id, worker="t")
    batch = first.outcomes.get().batch
    assert batch.closes_at > timezone.now() + timedelta(seconds=3500)
    urgent = plan_erasure(
        request_id="b",
        subject_key=world.key(2),
        scope={"type": "all"},
        deadline_at=timezone.now() + timedelta(seconds=900),
    )
    job_execute(job_id=urgent.erase_job_id, worker="t")
    assert urgent.outcomes.get().batch == batch
    batch.refresh_from_db()
    assert batch.closes_at <= timezone.now() + timedelta(seconds=300)
    assert batch.members.count() == 2
    # Not due yet: the wake-up re-arms itself instead of closing.
    assert batch_close_if_due(batch_id=batch.pk).status == BatchStatus.OPEN


def test_due_batch_closes_and_starts_one_job(settings):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 0
    world = World()
    plan = plan_erasure(request_id="c", subject_key=world.key(0), scope={"type": "all"}, deadline_at=deadline())
    job_execute(job_id=plan.erase_job_id, worker="t")
    batch = batch_close_if_due(batch_id=plan.outcomes.get().batch_id)
    assert batch.status == BatchStatus.UNLEARNING and batch.parent_version == world.production
    assert Job.objects.get(pk=batch.unlearn_job_id).kind == "orchestration.unlearn"


def test_engineer_starts_now_and_nothing_to_unlearn_is_refused():
    people = users()
    world = World()
    with pytest.raises(Conflict):
        unlearning_start_now(model=world.model, engineer=people["engineer"])
    with pytest.raises(PermissionDenied):
        unlearning_start_now(model=world.model, engineer=people["approver"])
    plan = plan_erasure(request_id="d", subject_key=world.key(0), scope={"type": "all"}, deadline_at=deadline())
    job_execute(job_id=plan.erase_job_id, worker="t")
    batch = unlearning_start_now(model=world.model, engineer=people["engineer"])
    assert batch.status == BatchStatus.UNLEARNING and batch.started_by == "engineer"
    assert Job.objects.get(pk=batch.unlearn_job_id).created_by == "engineer"


def test_records_scope_erases_only_the_subjects_own_records():
    world = World()
    own = [r.record_id for r in world.records if r.subject_key == world.key(0)][:1]
    other = [r.record_id for r in world.records if r.subject_key == world.key(1)][:1]
    plan = plan_erasure(
        request_id="e",
        subject_key=world.key(0),
        scope={"type": "records", "record_ids": own + other},
        deadline_at=deadline(),
    )
    assert plan.scope == {"type": "records", "record_ids": own}
    job_execute(job_id=plan.erase_job_id, worker="t")
    plan.refresh_from_db()
    assert [r["record_id"] for r in plan.datasets[0]["removed"]] == own


def test_officer_records_why_not_and_the_request_completes():
    people = users()
    world = World()
    plan = plan_erasure(request_id="f", subject_key=world.key(0), scope={"type": "all"}, deadline_at=deadline())
    job_execute(job_id=plan.erase_job_id, worker="t")
    with pytest.raises(PermissionDenied):
        outcome_skip(plan=plan, model=world.model, officer=people["engineer"], reason="model is being decommissioned")
    outcome_skip(plan=plan, model=world.model, officer=people["officer"], reason="model is being decommissioned")
    plan.refresh_from_db()
    assert plan.status == ErasurePlan.Status.COMPLETED
    completed = OutboxEvent.objects.get(topic="request.erasure_completed")
    assert completed.payload["models"] == [
        {
            "model": world.model.name,
            "version_before": world.production.version_id,
            "skipped_reason": "model is being decommissioned",
            "recorded_by": "officer",
        }
    ]
    with pytest.raises(Conflict):
        outcome_skip(plan=plan, model=world.model, officer=people["officer"], reason="model is being decommissioned")
    assert ModelOutcome.objects.get(plan=plan).status == ModelOutcome.Status.SKIPPED


def test_subject_with_no_data_completes_at_once():
    world = World(train=False)
    plan = plan_erasure(request_id="g", subject_key="a" * 64, scope={"type": "all"}, deadline_at=deadline())
    job_execute(job_id=plan.erase_job_id, worker="t")
    plan.refresh_from_db()
    assert plan.status == ErasurePlan.Status.COMPLETED
    assert OutboxEvent.objects.get(topic="request.erasure_completed").payload["datasets"] == []
    assert world.model.outcomes.count() == 0


def test_a_two_shard_language_model_candidate_is_verified_as_one_ensemble(settings):
    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    settings.JOB_LEASE_SECONDS = 1800  # verification heartbeats per stage; a slow shared CPU must not lose the lease
    people = users()
    world = World(kind="lm", subjects=4, shards=2, slices=1)
    batch = erase_and_unlearn(world, people["engineer"], request_id="lm-1")
    # The restoring retrain's candidate: both shards active again, verified as one ensemble.
    candidate = run_restoring_retrain(batch)
    assert (
        candidate.method == "sisa-exact" and len(candidate.digests["shards"]) == 2 and all(candidate.digests["shards"])
    )
    verify_job = Job.objects.get(pk=candidate.verification_job_id)
    assert job_execute(job_id=verify_job.pk, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(
        pk=verify_job.pk
    ).error
    candidate.refresh_from_db()
    assert candidate.verdict["kind"] == "causal_lm"
    names = {metric["name"] for metric in candidate.verdict["metrics"]}
    assert {"extraction.rouge_l_excess", "relearn_forget.membership_auc", "quantized_4bit.membership_auc"} <= names
    # LiRA, calibrated on the parent's two shards (each OUT for the other's subjects).
    assert candidate.verdict["references"]["count"] == 2 and "membership.lira.auc" in names
    assert {"membership_roc", "loss_histograms"} <= set(candidate.plots)


def test_a_model_without_sisa_layout_is_unlearned_with_its_approximate_method_and_verified(settings, tmp_path):
    import torch

    from erasure_engine.models import ClassifierConfig, build_classifier, upload_dir, weights_digest
    from erasure_platform.core.object_store import platform_object_store
    from erasure_platform.registry.services.models import model_version_record_plain
    from erasure_platform.registry.services.release import release_initial

    settings.ERASURE_BATCH_WINDOW_SECONDS = 3600
    settings.JOB_LEASE_SECONDS = 1800
    people = users()
    world = World(train=False)
    world.model.approximate_method = "gradient_difference"
    world.model.approximate_params = {"steps": 5, "lr": 0.01}
    world.model.save(update_fields=["approximate_method", "approximate_params"])

    # A plain (non-SISA) model trained elsewhere and imported: one save_pretrained directory.
    torch.manual_seed(0)
    features = torch.tensor([r.content["features"] for r in world.records], dtype=torch.float32)
    labels = torch.tensor([r.content["label"] for r in world.records])
    classifier = build_classifier(
        ClassifierConfig(input_dim=features.shape[1], num_classes=int(labels.max()) + 1), seed=0
    )
    optimizer = torch.optim.Adam(classifier.parameters(), lr=0.05)
    for _ in range(60):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(classifier(features), labels).backward()
        optimizer.step()
    classifier.save_pretrained(tmp_path / "imported")
    artifact = upload_dir(
        platform_object_store(),
        f"models/{world.model.name}/import",
        tmp_path / "imported",
        weights_digest=weights_digest(classifier),
    )
    parent = release_initial(
        version=model_version_record_plain(
            model=world.model,
            version_id="import-1",
            artifact=artifact.to_dict(),
            trained_on=world.version,
            actor="engineer",
        ),
        actor="test",
    )

    batch = erase_and_unlearn(world, people["engineer"], request_id="approx-1")
    candidate = world.model.versions.get(batch=batch)
    assert candidate.method == "gradient_difference" and candidate.layout == "plain" and candidate.parent == parent
    assert candidate.digests["weights"] and candidate.digests["weights"] != parent.digests["weights"]
    assert candidate.cost["params"]["steps"] == 5

    verify_job = Job.objects.get(pk=candidate.verification_job_id)
    assert job_execute(job_id=verify_job.pk, worker="t") == Job.Status.SUCCEEDED, Job.objects.get(
        pk=verify_job.pk
    ).error
    candidate.refresh_from_db()
    assert candidate.verdict["kind"] == "classifier" and candidate.verdict["metrics"]
    assert {"membership_roc", "loss_histograms"} <= set(candidate.plots)
    # A plain version has no shards: no LiRA references, as before.
    assert "references" not in candidate.verdict and "membership.lira" in candidate.verdict["skipped"]
