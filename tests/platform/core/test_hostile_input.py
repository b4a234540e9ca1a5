"""Hostile input and a lost database: always an answer in the API's JSON error shape."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from erasure_engine.errors import EngineError
from erasure_engine.evidence import generate_private_key_pem, key_id, load_private_key, verify_document
from erasure_engine.records import canonical_json
from tests.conftest import free_port

DEEP = "[" * 50_000 + "]" * 50_000


def assert_error_shape(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    if code:
        assert error["code"] == code
    return error


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/requests", "/api/certificates/verify"])
def test_deeply_nested_json_is_refused_with_400(path):
    response = Client(raise_request_exception=False).post(path, DEEP, content_type="application/json")
    error = assert_error_shape(response, 400, "body_refused")
    assert "deeper" in error["message"]


@pytest.mark.django_db
def test_deep_json_inside_the_certificate_string_is_refused_with_400():
    """The certificate field holds a signed file's text, which the engine parses: the same limit."""
    response = Client(raise_request_exception=False).post(
        "/api/certificates/verify", {"certificate": DEEP}, content_type="application/json"
    )
    error = assert_error_shape(response, 400, "validation_error")
    assert "nests deeper than" in error["details"]["certificate"][0]


def test_the_engine_refuses_a_deep_signed_file_instead_of_recursing(tmp_path):
    """The offline verifier and the portal's upload page read files through the engine."""
    public_key = load_private_key(generate_private_key_pem()).public_key()
    with pytest.raises(EngineError, match="nests deeper than 64"):
        verify_document(DEEP.encode(), public_key)
    signature = {"algorithm": "Ed25519", "key_id": key_id(public_key), "value": 5}
    with pytest.raises(EngineError, match="base64 text"):
        verify_document(canonical_json({"document": {}, "signature": signature}), public_key)


@pytest.mark.django_db
def test_nesting_within_the_limit_reaches_validation(settings):
    inner = settings.ERASURE_JSON_MAX_DEPTH - 1  # the enclosing object is one level
    body = '{"identifier": ' + "[" * inner + "]" * inner + "}"
    response = Client().post("/api/requests", body, content_type="application/json")
    assert_error_shape(response, 400, "validation_error")


@pytest.mark.django_db
def test_brackets_inside_strings_do_not_count_as_nesting():
    message = '[{\\"' * 5_000
    response = Client().post(
        "/api/requests",
        f'{{"identifier": "a@example.com", "jurisdiction": "XX", "message": "{message}"}}',
        content_type="application/json",
    )
    assert "jurisdiction" in assert_error_shape(response, 400, "validation_error")["details"]


@pytest.mark.django_db
def test_a_body_over_the_size_limit_is_refused_with_400(settings):
    settings.ERASURE_JSON_MAX_BYTES = 1000
    body = '{"certificate": "%s"}' % ("x" * 2000)
    response = Client().post("/api/certificates/verify", body, content_type="application/json")
    assert "larger than 1000 bytes" in assert_error_shape(response, 400, "body_refused")["message"]


@pytest.mark.django_db
def test_a_form_body_is_refused_with_415():
    """The API reads JSON only: form rules would read an empty field as absent (the default)."""
    form = Client().post("/api/requests", {"identifier": "a@example.com", "jurisdiction": ""})
    assert_error_shape(form, 415, "unsupported_media_type")


@pytest.mark.django_db
def test_text_fields_refuse_numbers_instead_of_turning_them_into_text():
    response = Client().post("/api/certificates/verify", {"certificate": 12345}, content_type="application/json")
    assert "certificate" in assert_error_shape(response, 400, "validation_error")["details"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path", ["/api/requests/queue", "/api/ml/models", "/api/reports/00000000-0000-0000-0000-000000000000"]
)
def test_missing_credentials_answer_401_with_www_authenticate(path):
    response = APIClient().get(path)
    assert_error_shape(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


@pytest.mark.django_db
def test_a_wrong_token_answers_401_too():
    response = APIClient().get("/api/requests/queue", HTTP_AUTHORIZATION="Token not-a-real-token")
    assert_error_shape(response, 401)
    assert response["WWW-Authenticate"] == "Token"


@pytest.fixture
def database_down(django_db_blocker):
    """The real connection pointed at a port nobody listens on: every query fails to connect."""
    from django.db import connection

    # scripts/test always runs on PostgreSQL: a server that can be "down" (never a silent skip).
    assert connection.vendor == "postgresql", "the outage tests need the PostgreSQL that scripts/test starts"
    with django_db_blocker.unblock():
        original = connection.settings_dict.copy()
        connection.close()
        connection.settings_dict.update(HOST="127.0.0.1", PORT=str(free_port()))
        try:
            yield
        finally:
            connection.close()
            connection.settings_dict.clear()
            connection.settings_dict.update(original)


@pytest.mark.parametrize(
    "method,path,body",
    [
        ("post", "/api/requests", {"identifier": "a@example.com", "jurisdiction": "GDPR"}),
        ("get", "/api/owner/requests/some-token", None),
        ("get", "/api/requests/queue", None),
    ],
)
def test_database_unreachable_answers_503_json_with_retry_after(database_down, method, path, body):
    client = APIClient(raise_request_exception=False)
    response = (
        getattr(client, method)(path, body, format="json", HTTP_AUTHORIZATION="Token abc")
        if body
        else getattr(client, method)(path, HTTP_AUTHORIZATION="Token abc")
    )
    assert_error_shape(response, 503, "service_unavailable")
    assert int(response["Retry-After"]) > 0


def test_database_unreachable_on_a_portal_page_answers_503_not_500(database_down):
    response = Client(raise_request_exception=False).post(
        "/requests/new", {"identifier": "a@example.com", "jurisdiction": "GDPR"}
    )
    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    assert b"Temporarily unavailable" in response.content


@pytest.mark.django_db
def test_schema_states_min_length_401s_and_owner_links():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    identifier = schema["components"]["schemas"]["RequestCreateInputRequest"]["properties"]["identifier"]
    assert identifier["minLength"] == 1
    queue = schema["paths"]["/api/requests/queue"]["get"]["responses"]
    assert queue["401"]["headers"]["WWW-Authenticate"]["required"] is True
    assert "401" in schema["paths"]["/api/ml/models"]["get"]["responses"]
    assert "401" not in schema["paths"]["/api/requests"]["post"]["responses"]  # anonymous owner endpoint
    created = schema["paths"]["/api/requests"]["post"]["responses"]["201"]["links"]
    assert created["OwnerStatus"]["parameters"] == {"token": "$response.body#/access_token"}
    status = schema["paths"]["/api/owner/requests/{token}"]["get"]["responses"]["200"]["links"]
    assert status["OwnerCertificate"]["operationId"] == "erasure_request_owner_certificate"
    certificate = schema["paths"]["/api/owner/requests/{token}/certificate"]["get"]["responses"]["200"]["links"]
    assert certificate["VerifyCertificate"]["requestBody"] == {"certificate": "$response.body#/certificate"}
