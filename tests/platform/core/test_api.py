import pytest
from rest_framework.test import APIClient


@pytest.mark.django_db
def test_health_reports_database_and_object_store():
    response = APIClient().get("/api/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "object_store": "ok"}}


@pytest.mark.django_db
def test_health_reports_a_broken_object_store(settings, tmp_path):
    from erasure_platform.core.object_store import platform_object_store

    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the store's folder should be")
    settings.OBJECT_STORE_URL = (blocker / "objects").as_uri()
    platform_object_store.cache_clear()
    try:
        response = APIClient().get("/api/health")
    finally:
        platform_object_store.cache_clear()
    assert response.status_code == 503
    assert response.json()["checks"]["object_store"].startswith("error")


@pytest.mark.django_db
def test_errors_have_one_json_shape():
    response = APIClient().post("/api/health")
    assert response.status_code == 405
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "method_not_allowed"


@pytest.mark.django_db
def test_openapi_schema_is_served():
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    assert "/api/health" in response.json()["paths"]


@pytest.mark.django_db
def test_application_errors_map_to_their_status():
    from erasure_platform.core.api.errors import api_exception_handler
    from erasure_platform.core.errors import Conflict

    response = api_exception_handler(Conflict("job is already succeeded", details={"job": "x"}), {})
    assert response.status_code == 409
    assert response.data == {
        "error": {"code": "conflict", "message": "job is already succeeded", "details": {"job": "x"}}
    }


@pytest.mark.django_db
def test_portal_home_page_renders():
    from django.test import Client

    response = Client().get("/")
    assert response.status_code == 200
    assert b"Ask us to forget you" in response.content
