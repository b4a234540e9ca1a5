import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from erasure_engine.evidence import load_public_key, sign_document, verify_document
from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_create
from erasure_platform.evidence.keys import evidence_signing_key

DOCUMENT = {"kind": "certificate-of-erasure", "request": {"reference": "ER-1"}}


def staff(username, role):
    return user_create(username=username, password="a-long-pass-123", roles=[role])


@pytest.mark.django_db
def test_public_key_verifies_what_the_platform_signs():
    body = APIClient().get("/api/evidence/public-key").json()
    signed = sign_document(DOCUMENT, evidence_signing_key())
    assert verify_document(signed, load_public_key(body["public_key_pem"])).key_id == body["key_id"]


@pytest.mark.django_db
def test_certificate_verify_endpoint():
    client = APIClient()
    signed = sign_document(DOCUMENT, evidence_signing_key()).decode()
    ok = client.post("/api/certificates/verify", {"certificate": signed}, format="json").json()
    assert ok["valid"] is True and ok["document"] == DOCUMENT
    bad = client.post("/api/certificates/verify", {"certificate": signed.replace("ER-1", "ER-2")}, format="json").json()
    assert bad["valid"] is False and "altered" in bad["message"]
    missing = client.post("/api/certificates/verify", {}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["code"] == "validation_error"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role, allowed",
    [(Role.AUDITOR, True), (Role.OFFICER, True), (Role.ML_ENGINEER, False), (Role.RELEASE_APPROVER, False)],
)
def test_audit_verification_is_for_auditors_and_officers(role, allowed):
    client = APIClient()
    client.force_authenticate(staff("someone", role))
    response = client.post("/api/audit/verify")
    assert response.status_code == (200 if allowed else 403)
    if allowed:
        assert response.json()["ok"] is True and response.json()["chain"]["events_checked"] >= 1


@pytest.mark.django_db
def test_audit_verification_needs_a_login():
    assert APIClient().post("/api/audit/verify").status_code in (401, 403)


@pytest.mark.django_db
def test_auditor_runs_the_chain_check_from_the_portal():
    client = Client(enforce_csrf_checks=False)
    client.force_login(staff("auditor1", Role.AUDITOR))
    page = client.post("/evidence/audit/")
    assert page.status_code == 200
    assert b"Intact" in page.content and b'data-testid="head-hash"' in page.content
    engineer = Client()
    engineer.force_login(staff("engineer1", Role.ML_ENGINEER))
    assert engineer.get("/evidence/audit/").status_code == 403


@pytest.mark.django_db
def test_portal_certificate_check_accepts_valid_and_rejects_changed_files():
    signed = sign_document(DOCUMENT, evidence_signing_key())
    client = Client()
    good = client.post("/evidence/certificates/check/", {"certificate": SimpleUploadedFile("c.json", signed)})
    assert b"Valid certificate" in good.content
    bad = (client.post("/evidence/certificates/check/", {"certificate": SimpleUploadedFile("c.json", signed + b" ")}),)
    assert b"Not valid" in bad[0].content


@pytest.mark.django_db
def test_portal_forms_require_csrf():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/evidence/certificates/check/", {}).status_code == 403
