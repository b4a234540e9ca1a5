"""CCPA §7101 request records: CSV and JSON for a period, by API and portal, without personal data."""

import csv
import io
from datetime import date

import pytest
from django.test import Client
from rest_framework.test import APIClient

from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.selectors import RECORD_FIELDS
from erasure_platform.subject_requests.services import request_refuse

pytestmark = pytest.mark.django_db
REASON = "The records are needed to defend a pending legal claim."


@pytest.fixture
def two_requests(file_request, officer):
    file_request(identifier="ada@example.com", jurisdiction="CCPA")
    file_request(identifier="grace@example.com", jurisdiction="GDPR")
    refused, kept = ErasureRequest.objects.order_by("received_at")
    request_refuse(erasure_request=refused, officer=officer, ground="ccpa_security", reason=REASON)
    ErasureRequest.objects.filter(pk=kept.pk).update(received_on=date(2020, 1, 5))
    refused.refresh_from_db()
    return refused, kept


def api_client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_json_records_hold_the_statutory_fields_and_nothing_personal(two_requests, officer):
    refused, _ = two_requests
    response = api_client(officer).get("/api/requests/records", {"start": refused.received_on.isoformat()})
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    document = response.json()
    assert document["count"] == 1 and document["fields"] == RECORD_FIELDS
    row = document["requests"][0]
    assert row["reference"] == refused.reference and row["nature"] == "deletion"
    assert row["response_nature"] == "denied" and row["refusal_ground"] == "ccpa_security"
    assert row["refusal_reason"] == REASON and row["responded_on"] == refused.received_on.isoformat()
    body = response.content.decode()
    assert "ada@example.com" not in body and refused.subject_key not in body


def test_csv_records_for_a_period_that_holds_the_older_request(two_requests, auditor):
    _, kept = two_requests
    response = api_client(auditor).get(
        "/api/requests/records", {"start": "2020-01-01", "end": "2020-01-31", "file_format": "csv"}
    )
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert 'filename="erasure-requests-2020-01-01-2020-01-31.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [r["reference"] for r in rows] == [kept.reference]
    assert list(rows[0]) == RECORD_FIELDS and rows[0]["received_on"] == "2020-01-05"


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2026-02-01", "end": "2026-01-01"},
        {"start": "2010-01-01", "end": "2026-01-01"},
        {"start": "yesterday"},
        {"file_format": "xlsx"},
        {"start": ""},  # empty is not "the default": an API says what it did not understand
        {"end": "", "file_format": "csv"},
        {"file_format": ""},
    ],
)
def test_bad_periods_and_formats_are_refused_clearly(officer, query):
    response = api_client(officer).get("/api/requests/records", query)
    assert response.status_code == 400 and "error" in response.json()


def test_only_officers_and_auditors_may_export(engineer):
    assert api_client(engineer).get("/api/requests/records").status_code == 403
    assert APIClient().get("/api/requests/records").status_code in (401, 403)
    client = Client()
    client.force_login(engineer)
    assert client.get("/requests/records/").status_code == 403


def test_portal_page_downloads_csv_and_shows_errors(two_requests, officer):
    client = Client()
    client.force_login(officer)
    page = client.get("/requests/records/")
    assert page.status_code == 200 and "Download CSV" in page.content.decode()
    download = client.get("/requests/records/", {"start": "2020-01-01", "end": "2020-01-31", "file_format": "csv"})
    assert download.status_code == 200 and two_requests[1].reference in download.content.decode()
    bad = client.get("/requests/records/", {"start": "2026-02-01", "end": "2026-01-01", "file_format": "json"})
    assert bad.status_code == 400 and 'role="alert"' in bad.content.decode()
