import pytest
from django.test import Client
from rest_framework.test import APIClient

from erasure_platform.orchestration.models import BatchStatus, UnlearningBatch
from erasure_platform.registry.models import Model, VersionStatus
from tests.platform.registry.helpers import PASSWORD, fake_version, make_production, users

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    return users()


def api(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.fixture
def model():
    return Model.objects.create(name="api-model", kind="classifier", created_by="test")


def candidate_of(model, started_by="engineer"):
    from django.utils import timezone

    now = timezone.now()
    batch = UnlearningBatch.objects.create(
        model=model, opens_at=now, closes_at=now, status=BatchStatus.AWAITING_APPROVAL, started_by=started_by
    )
    return fake_version(
        model,
        created_by=started_by,
        batch=batch,
        verdict={
            "passed": True,
            "failed_metrics": [],
            "metrics": [
                {
                    "name": "membership.loss.auc",
                    "value": 0.5,
                    "threshold": 0.05,
                    "target": 0.5,
                    "direction": "closer_to_target_is_better",
                    "passed": True,
                }
            ],
        },
    )


@pytest.mark.parametrize("role", ["engineer", "approver", "auditor", "officer"])
def test_staff_read_models_anonymous_do_not(people, model, role):
    assert api(people[role]).get("/api/ml/models").status_code == 200
    anonymous = api().get("/api/ml/models")
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == "Token"


@pytest.mark.parametrize("role,status", [("engineer", 201), ("approver", 403), ("auditor", 403), ("officer", 403)])
def test_only_engineers_register_models(people, role, status):
    response = api(people[role]).post(
        "/api/ml/models/register", {"name": f"m-{role}", "kind": "classifier"}, format="json"
    )
    assert response.status_code == status, response.json()


def test_register_model_validates_input(people):
    response = api(people["engineer"]).post(
        "/api/ml/models/register", {"name": "Bad Name", "kind": "classifier"}, format="json"
    )
    assert response.status_code == 400 and set(response.json()) == {"error"}
    response = api(people["engineer"]).post(
        "/api/ml/models/register", {"name": "ok", "kind": "classifier", "approximate_method": "magic"}, format="json"
    )
    assert response.json()["error"]["code"] == "invalid_method"


@pytest.mark.parametrize("role", ["engineer", "auditor", "officer"])
def test_only_approvers_approve_reject_rollback(people, model, role):
    version = candidate_of(model)
    client = api(people[role])
    assert client.post(f"/api/ml/versions/{version.pk}/approve", {}, format="json").status_code == 403
    assert (
        client.post(f"/api/ml/versions/{version.pk}/reject", {"reason": "not good enough"}, format="json").status_code
        == 403
    )
    assert (
        client.post(f"/api/ml/models/{model.name}/rollback", {"reason": "go back please"}, format="json").status_code
        == 403
    )


def test_approver_approves_over_the_api_and_self_approval_is_refused(people, model):
    make_production(model, fake_version(model))
    own = candidate_of(model, started_by="engineer_approver")
    refused = api(people["engineer_approver"]).post(f"/api/ml/versions/{own.pk}/approve", {}, format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "four_eyes"
    ok = api(people["approver"]).post(f"/api/ml/versions/{own.pk}/approve", {"reason": "verdict passed"}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == VersionStatus.RELEASED
    again = api(people["approver"]).post(f"/api/ml/versions/{own.pk}/approve", {}, format="json")
    assert again.status_code == 409


def test_only_officers_record_why_not(people, model):
    for role in ("engineer", "approver", "auditor"):
        response = api(people[role]).post(
            "/api/ml/requests/r-1/skip-model", {"model": model.name, "reason": "x" * 20}, format="json"
        )
        assert response.status_code == 403
    assert (
        api(people["officer"])
        .post("/api/ml/requests/r-1/skip-model", {"model": model.name, "reason": "x" * 20}, format="json")
        .status_code
        == 404
    )


def test_lineage_and_version_detail_read(people, model):
    version = candidate_of(model)
    assert api(people["auditor"]).get(f"/api/ml/versions/{version.pk}").json()["verdict"]["passed"] is True
    body = api(people["auditor"]).get("/api/ml/lineage/" + "a" * 64).json()
    assert body == {"subject_key": "a" * 64, "dataset_versions": [], "model_versions": []}


def test_portal_candidate_page_shows_forms_only_to_approvers(people, model):
    version = candidate_of(model)
    page = f"/ml/versions/{version.pk}/"
    browser = Client()
    browser.login(username="approver", password=PASSWORD)
    html = browser.get(page).content.decode()
    assert "membership.loss.auc" in html and "Approve and release" in html and "csrfmiddlewaretoken" in html
    browser = Client()
    browser.login(username="auditor", password=PASSWORD)
    html = browser.get(page).content.decode()
    assert "membership.loss.auc" in html and "Approve and release" not in html
    assert Client().get(page).status_code == 302  # anonymous: to the sign-in page


def test_portal_self_approval_is_refused_with_a_message(people, model):
    version = candidate_of(model, started_by="engineer_approver")
    browser = Client()
    browser.login(username="engineer_approver", password=PASSWORD)
    response = browser.post(f"/ml/versions/{version.pk}/approve", {"reason": ""}, follow=True)
    assert "four eyes" in response.content.decode()
    version.refresh_from_db()
    assert version.status == VersionStatus.CANDIDATE
