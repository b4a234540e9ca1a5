import pytest

from erasure_platform.core.errors import ApplicationError, Conflict, PermissionDenied
from erasure_platform.core.models import AuditEvent, OutboxEvent
from erasure_platform.orchestration.models import BatchStatus, UnlearningBatch
from erasure_platform.registry.models import Alias, Model, VersionStatus
from erasure_platform.registry.services.models import consumer_register
from erasure_platform.registry.services.release import alias_rollback, release_approve, release_initial, release_reject
from tests.platform.conftest import consume_published
from tests.platform.registry.helpers import fake_version, make_production, users

pytestmark = pytest.mark.django_db

PASSED = {"passed": True, "failed_metrics": [], "metrics": []}
FAILED = {"passed": False, "failed_metrics": ["membership.loss.auc"], "metrics": []}


@pytest.fixture
def people():
    return users()


@pytest.fixture
def model():
    return Model.objects.create(name="release-model", kind="classifier", created_by="test")


def batch_for(model, started_by="system:orchestration"):
    from django.utils import timezone

    now = timezone.now()
    return UnlearningBatch.objects.create(
        model=model, opens_at=now, closes_at=now, status=BatchStatus.AWAITING_APPROVAL, started_by=started_by
    )


def test_approve_moves_alias_supersedes_and_notifies_consumers(people, model):
    old = make_production(model, fake_version(model))
    consumer_register(model=model, name="Analytics", email="a@example.org", actor="engineer")
    candidate = fake_version(model, batch=batch_for(model), verdict=PASSED, parent=old)
    release_approve(version=candidate, approver=people["approver"], reason="verdict passed")
    candidate.refresh_from_db()
    old.refresh_from_db()
    assert candidate.status == VersionStatus.RELEASED
    assert old.status == VersionStatus.SUPERSEDED and old.holds_erased_data
    assert Alias.objects.get(model=model).version == candidate
    assert (
        OutboxEvent.objects.filter(topic="registry.consumer_notify", payload__old_version=old.version_id).count() == 1
    )
    assert AuditEvent.objects.filter(action="model_version.approved", entity_id=str(candidate.pk)).exists()
    assert candidate.decisions.get().approver == "approver"


def test_self_approval_is_refused(people, model):
    make_production(model, fake_version(model))
    candidate = fake_version(
        model, created_by="engineer_approver", batch=batch_for(model, "engineer_approver"), verdict=PASSED
    )
    with pytest.raises(PermissionDenied) as refused:
        release_approve(version=candidate, approver=people["engineer_approver"])
    assert refused.value.code == "four_eyes"
    candidate.refresh_from_db()
    assert candidate.status == VersionStatus.CANDIDATE


def test_batch_starter_cannot_approve_either(people, model):
    candidate = fake_version(
        model, created_by="system:orchestration", batch=batch_for(model, "engineer_approver"), verdict=PASSED
    )
    with pytest.raises(PermissionDenied):
        release_approve(version=candidate, approver=people["engineer_approver"])


def test_only_approvers_decide(people, model):
    candidate = fake_version(model, verdict=PASSED, batch=batch_for(model))
    for role in ("engineer", "officer", "auditor"):
        with pytest.raises(PermissionDenied):
            release_approve(version=candidate, approver=people[role])
        with pytest.raises(PermissionDenied):
            release_reject(version=candidate, approver=people[role], reason="not good enough at all")


def test_approving_a_non_candidate_is_refused(people, model):
    released = make_production(model, fake_version(model))
    rejected = fake_version(model, status=VersionStatus.REJECTED, verdict=PASSED)
    for version in (released, rejected):
        with pytest.raises(Conflict) as refused:
            release_approve(version=version, approver=people["approver"])
        assert refused.value.code == "not_a_candidate"


def test_unverified_candidate_cannot_be_approved(people, model):
    candidate = fake_version(model, batch=batch_for(model))
    with pytest.raises(Conflict) as refused:
        release_approve(version=candidate, approver=people["approver"])
    assert refused.value.code == "not_verified"


def test_failed_verdict_needs_an_override_reason(people, model):
    candidate = fake_version(model, batch=batch_for(model), verdict=FAILED)
    with pytest.raises(Conflict) as refused:
        release_approve(version=candidate, approver=people["approver"], override_reason="fine")
    assert refused.value.code == "verdict_failed"
    release_approve(
        version=candidate, approver=people["approver"], override_reason="tiny forget set: AUC noise accepted"
    )
    decision = candidate.decisions.get()
    assert decision.overrode_failed_verdict and "AUC noise" in decision.reason


def test_reject_keeps_production_and_marks_batch(people, model):
    old = make_production(model, fake_version(model))
    batch = batch_for(model)
    candidate = fake_version(model, batch=batch, verdict=FAILED)
    with pytest.raises(ApplicationError):
        release_reject(version=candidate, approver=people["approver"], reason="no")
    release_reject(version=candidate, approver=people["approver"], reason="utility dropped too far")
    batch.refresh_from_db()
    assert batch.status == BatchStatus.AWAITING_APPROVAL, "orchestration hears of it through the event"
    assert consume_published("model_version.rejected") == 1
    candidate.refresh_from_db()
    batch.refresh_from_db()
    assert candidate.status == VersionStatus.REJECTED and batch.status == BatchStatus.REJECTED
    assert Alias.objects.get(model=model).version == old
    with pytest.raises(Conflict):
        release_reject(version=candidate, approver=people["approver"], reason="utility dropped too far")


def test_rollback_with_no_previous_version_is_refused(people, model):
    make_production(model, fake_version(model))
    with pytest.raises(Conflict) as refused:
        alias_rollback(model=model, approver=people["approver"], reason="bad release, go back")
    assert refused.value.code == "no_previous_version"


def test_rollback_without_production_is_refused(people, model):
    with pytest.raises(Conflict) as refused:
        alias_rollback(model=model, approver=people["approver"], reason="bad release, go back")
    assert refused.value.code == "no_production"


def test_rollback_returns_to_previous_version_when_no_erasure_was_involved(people, model):
    first = make_production(model, fake_version(model))
    retrained = fake_version(model, created_by="engineer")  # a retrain, not an erasure
    release_approve(version=retrained, approver=people["approver"], reason="better accuracy")
    target = alias_rollback(model=model, approver=people["approver"], reason="latency regression seen")
    assert target == first
    assert Alias.objects.get(model=model).version == first
    retrained.refresh_from_db()
    assert retrained.status == VersionStatus.SUPERSEDED
    assert AuditEvent.objects.filter(action="model.rolled_back").exists()
    assert list(Alias.objects.get(model=model).moves.values_list("action", flat=True)) == [
        "release",
        "release",
        "rollback",
    ]


def test_rollback_to_a_version_holding_erased_data_is_refused(people, model):
    make_production(model, fake_version(model))
    candidate = fake_version(model, batch=batch_for(model), verdict=PASSED)
    release_approve(version=candidate, approver=people["approver"])
    with pytest.raises(Conflict) as refused:
        alias_rollback(model=model, approver=people["approver"], reason="want the old one back")
    assert refused.value.code == "holds_erased_data"


def test_initial_release_only_once(model):
    version = fake_version(model)
    release_initial(version=version, actor="system:seed")
    with pytest.raises(Conflict):
        release_initial(version=fake_version(model), actor="system:seed")
