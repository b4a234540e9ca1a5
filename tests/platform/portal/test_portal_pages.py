"""Newcomer paths through the portal: where each role lands, local API docs, styled errors, demo hints."""

from datetime import date

import pytest
from django.test import Client

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_create
from erasure_platform.evidence.services.reports import default_period
from erasure_platform.registry.services.demo import demo_identifiers
from erasure_platform.subject_requests.models import ErasureRequest

pytestmark = pytest.mark.django_db
PASSWORD = "a-long-test-password-2026"


def sign_in(username: str, roles: list[Role]) -> Client:
    user_create(username=username, password=PASSWORD, roles=roles)
    client = Client()
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return client, response["Location"]


@pytest.mark.parametrize(
    ("roles", "landing"),
    [
        ([Role.OFFICER], "/requests/queue"),
        ([Role.ML_ENGINEER], "/ml/"),
        ([Role.RELEASE_APPROVER], "/ml/"),
        ([Role.AUDITOR], "/evidence/reports/"),
        ([Role.AUDITOR, Role.OFFICER], "/requests/queue"),
        ([], "/"),
    ],
)
def test_each_role_lands_on_its_own_work_list(roles, landing):
    client, location = sign_in("person", roles)
    landed = client.get(location)
    assert landed.status_code == 302
    assert landed["Location"].rstrip("/") == landing.rstrip("/") or landed["Location"].startswith(landing)
    assert client.get(landed["Location"]).status_code == 200


def test_a_next_parameter_still_wins_over_the_landing_page():
    user_create(username="officer2", password=PASSWORD, roles=[Role.OFFICER])
    response = Client().post("/login/?next=/evidence/audit/", {"username": "officer2", "password": PASSWORD})
    assert response["Location"] == "/evidence/audit/"


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_api_documentation_is_served_from_our_own_static_files(path):
    page = Client().get(path)
    html = page.content.decode()
    assert page.status_code == 200
    assert "/api/schema/" in html
    assert "drf_spectacular_sidecar" in html  # the bundled UI, not a CDN
    assert "cdn.jsdelivr" not in html and "unpkg" not in html


def test_unknown_page_is_a_styled_404_and_unknown_api_url_is_json():
    page = Client().get("/no/such/page")
    html = page.content.decode()
    assert page.status_code == 404
    assert "Page not found" in html and "site.css" in html and 'rel="icon"' in html
    api = Client().get("/api/no-such-endpoint")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"


def test_favicon_is_linked_and_served():
    html = Client().get("/").content.decode()
    assert 'href="/static/portal/favicon.svg"' in html
    icon = Client().get("/static/portal/favicon.svg")
    assert icon.status_code == 200 and b"<svg" in b"".join(icon.streaming_content)
    assert 'href="/api/docs/"' in html and "API documentation" in html


def test_new_request_page_names_demo_identifiers_in_the_embedded_mode():
    html = Client().get("/requests/new").content.decode()
    identifiers = demo_identifiers()
    assert len(identifiers) == 3 and all("@example.org" in i for i in identifiers)
    for identifier in identifiers:
        assert identifier in html


def test_new_request_page_hides_demo_identifiers_in_production(settings):
    settings.PRODUCTION = True
    html = Client().get("/requests/new").content.decode()
    assert demo_identifiers()[0] not in html


def test_default_report_period_holds_data_on_a_young_deployment(file_request):
    today = date(2026, 12, 15)
    assert default_period(today) == (date(2026, 12, 1), today)  # nothing last month: this month so far
    file_request()
    ErasureRequest.objects.update(received_on=date(2026, 11, 20))
    assert default_period(today) == (date(2026, 11, 1), date(2026, 11, 30))


def test_certificate_check_page_offers_the_public_key_and_offline_steps():
    html = Client().get("/evidence/certificates/check/").content.decode()
    assert 'href="/evidence/certificates/public-key.pem"' in html
    assert "erasure-engine verify-certificate" in html
    key = Client().get("/evidence/certificates/public-key.pem")
    assert key.status_code == 200 and b"BEGIN PUBLIC KEY" in key.content
