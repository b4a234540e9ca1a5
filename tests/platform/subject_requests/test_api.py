import pytest
from rest_framework.test import APIClient

from erasure_platform.core.models import OutboxEvent
from erasure_platform.subject_requests.models import ErasureRequest
from tests.platform.subject_requests.conftest import delivered_mail, last_code

pytestmark = pytest.mark.django_db
REASON = "The records are under a litigation hold until 2027."


def client_for(user=None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def file_via_api(client=None, **overrides):
    body = {"identifier": "ada@example.com", "jurisdiction": "GDPR", **overrides}
    return (client or APIClient()).post("/api/requests", body, format="json")


@pytest.fixture
def filed(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = file_via_api(scope_type="records", record_ids=["r-1"])
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def verified(filed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            f"/api/owner/requests/{filed['access_token']}/verify", {"code": last_code()}, format="json"
        )
    assert response.status_code == 200, response.content
    return filed, ErasureRequest.objects.get(reference=filed["reference"])


def test_anonymous_owner_files_a_request(filed):
    assert filed["status"] == "submitted" and filed["reference"].startswith("ER-")
    assert filed["status_url"].endswith(f"/requests/s/{filed['access_token']}/")
    request = ErasureRequest.objects.get(reference=filed["reference"])
    assert request.channel == "api" and request.record_ids == ["r-1"]
    assert len(delivered_mail()) == 2


def test_create_validation_errors_have_the_one_error_shape():
    response = file_via_api(identifier="", jurisdiction="XX")
    assert response.status_code == 400
    body = response.json()["error"]
    assert body["code"] == "validation_error" and {"identifier", "jurisdiction"} <= set(body["details"])
    response = file_via_api(identifier="CUST-1")
    assert response.status_code == 400 and "contact_email" in response.json()["error"]["details"]


def test_intake_is_throttled_per_client(settings):
    settings.ERASURE_INTAKE_THROTTLE_RATE = "2/minute"
    assert file_via_api().status_code == 201
    assert file_via_api(identifier="b@example.com").status_code == 201
    response = file_via_api(identifier="c@example.com")
    assert response.status_code == 429 and response.json()["error"]["code"] == "throttled"


def test_owner_status_and_verification_by_token(filed):
    token = filed["access_token"]
    response = APIClient().get(f"/api/owner/requests/{token}")
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == filed["reference"] and body["identity_verified"] is False
    assert "id" not in body and "subject_key" not in body
    wrong = "000000" if last_code() != "000000" else "111111"
    response = APIClient().post(f"/api/owner/requests/{token}/verify", {"code": wrong}, format="json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "code_invalid"
    response = APIClient().post(f"/api/owner/requests/{token}/verify", {"code": "12"}, format="json")
    assert response.status_code == 400 and "code" in response.json()["error"]["details"]
    response = APIClient().post(f"/api/owner/requests/{token}/verify", {"code": last_code()}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "verified"


def test_resend_code_is_limited(filed):
    response = APIClient().post(f"/api/owner/requests/{filed['access_token']}/resend-code")
    assert response.status_code == 429 and response.json()["error"]["code"] == "code_resend_too_soon"


def test_another_owners_token_or_a_made_up_one_is_not_found(filed):
    other = file_via_api(identifier="bob@example.com").json()
    for token in ("x" * 43, other["access_token"][:-1] + ("A" if other["access_token"][-1] != "A" else "B")):
        assert APIClient().get(f"/api/owner/requests/{token}").status_code == 404
        assert (
            APIClient().post(f"/api/owner/requests/{token}/verify", {"code": "123456"}, format="json").status_code
            == 404
        )
    mine = APIClient().get(f"/api/owner/requests/{other['access_token']}").json()
    assert mine["reference"] == other["reference"] != filed["reference"]


def test_the_internal_id_is_not_an_owner_entry_point(filed):
    request = ErasureRequest.objects.get(reference=filed["reference"])
    assert APIClient().get(f"/api/requests/{request.id}").status_code == 401
    assert APIClient().get(f"/api/owner/requests/{request.id}").status_code == 404
    assert APIClient().get(f"/api/owner/requests/{filed['reference']}").status_code == 404


@pytest.mark.parametrize("who", [None, "engineer"])
def test_staff_endpoints_refuse_anonymous_and_other_roles(verified, who, request):
    _, erasure_request = verified
    client = client_for(request.getfixturevalue(who) if who else None)
    base = f"/api/requests/{erasure_request.id}"
    refused = 403 if who else 401  # no credentials: 401 with WWW-Authenticate; the wrong role: 403
    for path in ("/api/requests/queue", "/api/requests/dashboard", base):
        assert client.get(path).status_code == refused
    for action, body in (
        ("grant", {}),
        ("refuse", {"ground": "gdpr_legal_claims", "reason": REASON}),
        ("extend", {"reason": REASON}),
        ("reopen", {"reason": REASON}),
        ("purge-contact", {}),
    ):
        assert client.post(f"{base}/{action}", body, format="json").status_code == refused
    assert ErasureRequest.objects.get(pk=erasure_request.pk).status == "verified"


def test_auditor_reads_but_cannot_act(verified, auditor):
    _, erasure_request = verified
    client = client_for(auditor)
    assert client.get("/api/requests/queue").status_code == 200
    assert client.get("/api/requests/dashboard").status_code == 200
    detail = client.get(f"/api/requests/{erasure_request.id}")
    assert detail.status_code == 200 and detail.json()["timeline"][0]["action"] == "request.submitted"
    response = client.post(f"/api/requests/{erasure_request.id}/grant", {}, format="json")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert not OutboxEvent.objects.filter(topic="request.granted").exists()


def test_queue_puts_verified_first_then_by_due_date(verified, file_request, officer):
    _, first = verified
    unverified, _ = file_request(identifier="zed@example.com", jurisdiction="CCPA")
    early, _ = file_request(identifier="early@example.com")
    ErasureRequest.objects.filter(pk=early.pk).update(due_on="2020-01-01")
    response = client_for(officer).get("/api/requests/queue")
    assert response.status_code == 200
    refs = [row["reference"] for row in response.json()["results"]]
    assert refs == [first.reference, early.reference, unverified.reference]
    assert response.json()["results"][1]["overdue"] is True
    only_ccpa = client_for(officer).get("/api/requests/queue?jurisdiction=CCPA").json()["results"]
    assert [row["reference"] for row in only_ccpa] == [unverified.reference]
    for query in (
        "status=bogus",
        "status=",
        "jurisdiction=",
        "limit=-3",
        "limit=0",
        "limit=501",
        "offset=true",
        "offset=-1",
    ):
        response = client_for(officer).get(f"/api/requests/queue?{query}")
        assert response.status_code == 400 and response.json()["error"]["code"] == "validation_error", query
    page = client_for(officer).get("/api/requests/queue?limit=1&offset=1").json()
    assert [row["reference"] for row in page["results"]] == [early.reference] and page["count"] == 3


def test_officer_grants_via_api(verified, officer):
    _, erasure_request = verified
    response = client_for(officer).post(f"/api/requests/{erasure_request.id}/grant", {"reason": "ok"}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "granted"
    assert OutboxEvent.objects.filter(topic="request.granted", payload__request_id=str(erasure_request.id)).count() == 1
    again = client_for(officer).post(f"/api/requests/{erasure_request.id}/grant", {}, format="json")
    assert again.status_code == 409 and again.json()["error"]["code"] == "invalid_transition"


def test_grant_before_verification_is_a_conflict(filed, officer):
    erasure_request = ErasureRequest.objects.get(reference=filed["reference"])
    response = client_for(officer).post(f"/api/requests/{erasure_request.id}/grant", {}, format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "identity_not_verified"


def test_officer_refuses_extends_and_reopens_via_api(verified, officer):
    filed, erasure_request = verified
    client = client_for(officer)
    base = f"/api/requests/{erasure_request.id}"
    bad = client.post(f"{base}/extend", {"reason": REASON, "extension": 3}, format="json")
    assert bad.status_code == 400 and "extension" in bad.json()["error"]["details"]
    response = client.post(f"{base}/extend", {"reason": REASON, "extension": 2}, format="json")
    assert response.status_code == 200 and response.json()["extended_at"]
    assert client.post(f"{base}/extend", {"reason": REASON}, format="json").status_code == 409
    bad = client.post(f"{base}/refuse", {"ground": "ccpa_security", "reason": REASON}, format="json")
    assert bad.status_code == 400
    response = client.post(f"{base}/refuse", {"ground": "gdpr_legal_claims", "reason": REASON}, format="json")
    assert response.status_code == 200 and response.json()["response_nature"] == "denied"
    owner = APIClient().get(f"/api/owner/requests/{filed['access_token']}").json()
    assert owner["status"] == "refused" and owner["refusal_reason"] == REASON and owner["extended"] is True
    response = client.post(f"{base}/reopen", {"reason": "The hold was lifted."}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "verified"
    assert client.post(f"{base}/reopen", {"reason": "Again and again."}, format="json").status_code == 409


def test_purge_contact_via_api(verified, officer):
    _, erasure_request = verified
    base = f"/api/requests/{erasure_request.id}"
    assert client_for(officer).post(f"{base}/purge-contact").status_code == 409
    client_for(officer).post(f"{base}/refuse", {"ground": "gdpr_legal_claims", "reason": REASON}, format="json")
    response = client_for(officer).post(f"{base}/purge-contact")
    assert response.status_code == 200 and response.json()["contact_purged_at"]


def test_unknown_staff_request_is_not_found(officer):
    response = client_for(officer).get("/api/requests/3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def test_dashboard_figures(verified, file_request, officer):
    _, first = verified
    late, _ = file_request(identifier="late@example.com", jurisdiction="CCPA")
    ErasureRequest.objects.filter(pk=late.pk).update(due_on="2020-01-01")
    client_for(officer).post(
        f"/api/requests/{first.id}/refuse", {"ground": "gdpr_legal_claims", "reason": REASON}, format="json"
    )
    figures = client_for(officer).get("/api/requests/dashboard").json()
    assert figures["total"] == 2 and figures["open"] == 1 and figures["overdue"] == 1 and figures["closed"] == 1
    assert figures["median_days_to_close"] == 0.0
    assert figures["by_status"]["refused"] == 1 and figures["by_jurisdiction"] == {"GDPR": 1, "CCPA": 1}


def test_schema_lists_every_operation():
    paths = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()["paths"]
    for path in (
        "/api/requests",
        "/api/requests/queue",
        "/api/requests/dashboard",
        "/api/requests/{request_id}",
        "/api/requests/{request_id}/grant",
        "/api/requests/{request_id}/refuse",
        "/api/requests/{request_id}/extend",
        "/api/requests/{request_id}/reopen",
        "/api/owner/requests/{token}",
        "/api/owner/requests/{token}/verify",
    ):
        assert path in paths, path


def test_staff_rows_link_duplicates(verified, file_request, officer):
    _, first = verified
    duplicate, _ = file_request()
    rows = client_for(officer).get("/api/requests/queue?status=duplicate").json()["results"]
    assert rows[0]["duplicate_of"] == str(first.id) and rows[0]["reference"] == duplicate.reference
    detail = client_for(officer).get(f"/api/requests/{duplicate.id}").json()
    assert detail["duplicate_of"] == str(first.id) and detail["days_left"] >= 28
