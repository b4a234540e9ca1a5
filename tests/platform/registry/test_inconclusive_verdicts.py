"""Three-outcome verdicts on the platform: INCONCLUSIVE is shown distinctly (API, portal, reports,
certificates), releasing on it needs the approver's written justification (four eyes still hold),
and the certificate states which kind of proof stands behind a release."""

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from erasure_platform.core.errors import ApplicationError, Conflict, PermissionDenied
from erasure_platform.core.models import AuditEvent
from erasure_platform.evidence.services.certificates import _proof_cell
from erasure_platform.evidence.services.reports import _metric_cell, _outcome_cell
from erasure_platform.orchestration.models import BatchStatus, UnlearningBatch
from erasure_platform.registry import selectors
from erasure_platform.registry.models import Model, VersionStatus
from erasure_platform.registry.selectors import exact_unlearning_evidence
from erasure_platform.registry.services.release import release_approve
from tests.platform.registry.helpers import PASSWORD, fake_version, users

pytestmark = pytest.mark.django_db

INCONCLUSIVE = {
    "outcome": "inconclusive",
    "passed": False,
    "failed_metrics": [],
    "basis": "statistical",
    "inconclusive_metrics": ["membership.min_k.auc"],
    "reason": "inconclusive: membership.min_k.auc",
    "calibration": {"parent_failed": True, "oracle_passed": True, "parent": {}, "oracle": {}},
    "metrics": [
        {
            "name": "membership.min_k.auc",
            "value": 0.52,
            "threshold": 0.05,
            "target": 0.5,
            "outcome": "inconclusive",
            "direction": "not_above_target",
            "passed": None,
            "reason": "with 1 forget subject this check cannot tell the parent from the oracle",
        }
    ],
}


@pytest.fixture
def people():
    return users()


@pytest.fixture
def model():
    return Model.objects.create(name="inconclusive-model", kind="classifier", created_by="test")


def candidate(model, verdict=INCONCLUSIVE, started_by="system:orchestration", **extra):
    now = timezone.now()
    batch = UnlearningBatch.objects.create(
        model=model, opens_at=now, closes_at=now, status=BatchStatus.AWAITING_APPROVAL, started_by=started_by
    )
    return fake_version(model, created_by=started_by, batch=batch, verdict=verdict, **extra)


def test_releasing_on_inconclusive_needs_a_written_justification(people, model):
    version = candidate(model)
    with pytest.raises(Conflict) as refused:
        release_approve(version=version, approver=people["approver"], reason="looks fine")
    assert refused.value.code == "verdict_inconclusive" and "justification" in refused.value.message
    release_approve(
        version=version,
        approver=people["approver"],
        override_reason="one-subject request; exact retraining is scheduled for Friday",
    )
    version.refresh_from_db()
    decision = version.decisions.get()
    assert version.status == VersionStatus.RELEASED
    assert not decision.overrode_failed_verdict and "Friday" in decision.reason
    event = AuditEvent.objects.get(action="model_version.approved", entity_id=str(version.pk))
    assert event.data["released_on_inconclusive"] is True and event.data["verdict_outcome"] == "inconclusive"


def test_four_eyes_hold_on_inconclusive_too(people, model):
    version = candidate(model, started_by="engineer_approver")
    with pytest.raises(PermissionDenied):
        release_approve(
            version=version,
            approver=people["engineer_approver"],
            override_reason="a long enough justification for the release",
        )


def test_api_and_portal_show_inconclusive_distinctly(people, model):
    version = candidate(model)
    client = APIClient()
    client.force_authenticate(people["auditor"])
    body = client.get(f"/api/ml/versions/{version.pk}").json()
    assert body["verdict_outcome"] == "inconclusive" and body["verdict_passed"] is False
    browser = Client()
    browser.login(username="approver", password=PASSWORD)
    html = browser.get(f"/ml/versions/{version.pk}/").content.decode()
    assert "INCONCLUSIVE" in html and "Written justification" in html and "cannot tell the parent" in html
    assert "Override reason" not in html


def test_reports_and_certificates_say_which_proof_stands_behind_a_release():
    assert selectors.verdict_outcome({"passed": True}) == "passed"  # verdicts from before three outcomes
    assert selectors.verdict_outcome({"passed": False}) == "failed"
    assert selectors.release_proof(INCONCLUSIVE) == selectors.PROOF_INCONCLUSIVE
    assert selectors.release_proof({"outcome": "passed", "basis": "exact_by_construction"}) == selectors.PROOF_EXACT
    assert selectors.release_proof({"outcome": "passed", "basis": "statistical"}) == selectors.PROOF_VERIFIED
    assert _outcome_cell(INCONCLUSIVE) == "INCONCLUSIVE" and _outcome_cell({"passed": True}) == "passed"
    assert _metric_cell(INCONCLUSIVE["metrics"][0]).endswith("INCONCLUSIVE")
    cell = _proof_cell({"proof": selectors.PROOF_INCONCLUSIVE, "justification": "exact retraining scheduled"})
    assert "INCONCLUSIVE" in cell and "exact retraining scheduled" in cell
    assert _proof_cell({"proof": selectors.PROOF_EXACT}).startswith("exact by construction")
    assert _proof_cell({"passed": True}) == "passed"


def test_exact_evidence_splits_retrained_from_reused_shards(model):
    parent = fake_version(model, status=VersionStatus.RELEASED)
    parent.digests = {"shards": ["a" * 64, "b" * 64, "c" * 64]}
    parent.save()
    exact = candidate(model, verdict=None, parent=parent)
    exact.digests, exact.method = {"shards": ["a" * 64, "d" * 64, "c" * 64]}, "sisa-exact"
    exact.save()
    evidence = exact_unlearning_evidence(exact)
    assert evidence["retrained_checkpoints"] == {"1": "d" * 64}
    assert evidence["reused_shards"] == {"0": "a" * 64, "2": "c" * 64}
    exact.digests = {"shards": ["a" * 64]}
    with pytest.raises(ApplicationError, match="one weights digest per shard"):
        exact_unlearning_evidence(exact)
