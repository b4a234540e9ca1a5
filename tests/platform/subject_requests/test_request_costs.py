"""What the busiest owner paths cost the database: filing a request and reading its status.

Counts, never timings: bench/web_profile.py and bench/load_bench.py measure the time."""

from __future__ import annotations

import pytest
from django.db import IntegrityError
from rest_framework.test import APIClient

from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.models import AuditEvent, OutboxEvent
from erasure_platform.core.services.audit import audit_record_many
from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.services import intake, request_create

pytestmark = pytest.mark.django_db


def file(identifier="ada@example.com"):
    return request_create(identifier=identifier, jurisdiction="GDPR", channel="api")


def test_filing_is_one_lookup_and_one_insert_per_table(django_assert_max_num_queries):
    # Savepoint, the subject's open verified request (locked), the request, its two audit
    # events, its two e-mails, release: a statement per table, not per row.
    with django_assert_max_num_queries(6) as captured:
        request, _ = file()
    statements = [query["sql"] for query in captured.captured_queries]
    for table in ("subject_requests_erasurerequest", "core_auditevent", "core_outboxevent"):
        assert sum(sql.startswith(f'INSERT INTO "{table}"') for sql in statements) == 1, statements
    events = list(AuditEvent.objects.filter(entity_id=str(request.id)).order_by("sequence"))
    assert [e.action for e in events] == ["request.submitted", "request.receipt_confirmed"]
    assert sorted(e.payload["recipient"] for e in OutboxEvent.objects.all()) == ["contact", "identifier"]


def test_a_duplicate_is_filed_with_its_three_events_in_one_insert(verified_request, django_assert_max_num_queries):
    original, _ = verified_request()
    with django_assert_max_num_queries(6) as captured:
        duplicate, _ = file()
    assert duplicate.status == "duplicate" and duplicate.duplicate_of_id == original.id
    assert sum('INSERT INTO "core_auditevent"' in query["sql"] for query in captured.captured_queries) == 1
    assert list(
        AuditEvent.objects.filter(entity_id=str(duplicate.id)).order_by("sequence").values_list("action", flat=True)
    ) == ["request.submitted", "request.receipt_confirmed", "request.marked_duplicate"]
    marked = AuditEvent.objects.get(entity_id=str(duplicate.id), action="request.marked_duplicate")
    assert marked.data == {"duplicate_of": str(original.id), "duplicate_of_reference": original.reference}


def test_a_reference_that_clashes_is_drawn_again_and_nothing_of_the_attempt_stays(monkeypatch):
    first, _ = file()
    drawn = iter([first.reference, "ER-ABCD-EFGH"])
    monkeypatch.setattr(intake, "_new_reference", lambda: next(drawn))
    second, _ = file("grace@example.com")
    assert second.reference == "ER-ABCD-EFGH"
    assert ErasureRequest.objects.count() == 2
    # The clashing attempt rolled back: no audit event or e-mail of it survives.
    assert AuditEvent.objects.filter(action="request.submitted").count() == 2
    assert OutboxEvent.objects.count() == 4


def test_references_that_always_clash_give_up_with_a_retryable_error(monkeypatch):
    first, _ = file()
    monkeypatch.setattr(intake, "_new_reference", lambda: first.reference)
    with pytest.raises(ApplicationError) as caught:
        file("grace@example.com")
    assert caught.value.status == 503 and caught.value.code == "reference_exhausted"
    assert ErasureRequest.objects.count() == 1


def test_other_integrity_errors_are_not_mistaken_for_a_clash(monkeypatch):
    def broken(**fields):
        raise IntegrityError("some other constraint")

    monkeypatch.setattr(intake, "_request_create", broken)
    with pytest.raises(IntegrityError):
        file()


def test_the_owner_status_is_two_queries_however_long_the_history(file_request, django_assert_max_num_queries):
    request, token = file_request()
    audit_record_many(
        [
            {
                "actor": "system",
                "action": "request.erasure_progress",
                "entity_type": "erasure_request",
                "entity_id": request.id,
                "data": {"stage": stage, "detail": {}},
            }
            for stage in ("datasets_erased", "unlearning", "verifying", "awaiting_release")
        ]
        + [
            {
                "actor": "officer:x",
                "action": "request.identity_code_rejected",
                "entity_type": "erasure_request",
                "entity_id": request.id,
                "data": {"attempts": 1},
            }
        ]
    )
    client = APIClient()
    with django_assert_max_num_queries(2):
        body = client.get(f"/api/owner/requests/{token}").json()
    assert [entry["action"] for entry in body["timeline"]][-4:] == ["request.erasure_progress"] * 4
    assert "request.identity_code_rejected" not in [entry["action"] for entry in body["timeline"]], (
        "staff-only actions stay hidden"
    )
    with django_assert_max_num_queries(2):
        page = client.get(f"/requests/s/{token}/")
    assert page.status_code == 200 and b"Checking the models no longer remember your data" in page.content
