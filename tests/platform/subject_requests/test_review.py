from datetime import date, timedelta

import pytest
from django.utils import timezone

from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.models import AuditEvent, OutboxEvent
from erasure_platform.core.services.outbox import outbox_event_consume, outbox_publish
from erasure_platform.subject_requests import deadlines
from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.selectors import request_owner_view
from erasure_platform.subject_requests.services import (
    request_complete,
    request_extend,
    request_grant,
    request_refuse,
    request_reopen,
)
from tests.platform.subject_requests.conftest import delivered_mail

pytestmark = pytest.mark.django_db
REASON = "The records are under a litigation hold until 2027."


def last_action(request) -> str:
    return (
        AuditEvent.objects.filter(entity_id=str(request.id)).order_by("-sequence").values_list("action", flat=True)[0]
    )


def granted_events():
    return list(OutboxEvent.objects.filter(topic="request.granted"))


def complete(request, **extra):
    payload = {
        "request_id": str(request.id),
        "datasets": [{"dataset": "d", "before": 1, "after": 2, "removed": ["h1"]}],
        "models": [{"model": "m", "before": 1, "after": 2, "method": "sisa", "verdict": "pass"}],
        **extra,
    }
    event = outbox_publish(topic="request.erasure_completed", payload=payload)
    outbox_event_consume(event_id=event.id)
    return ErasureRequest.objects.get(pk=request.pk)


# ---- grant ----


def test_grant_publishes_request_granted_in_the_same_transaction(
    verified_request, officer, django_capture_on_commit_callbacks
):
    request, _ = verified_request(scope_type="records", record_ids=["r-1", "r-2"])
    with django_capture_on_commit_callbacks(execute=True):
        request = request_grant(erasure_request=request, officer=officer, reason="looks fine")
    assert request.status == "granted" and request.decided_by == "olivia" and request.granted_at
    (event,) = granted_events()
    assert event.payload == {
        "request_id": str(request.id),
        "subject_key": request.subject_key,
        "scope": {"type": "records", "record_ids": ["r-1", "r-2"]},
        "deadline_at": f"{request.due_on.isoformat()}T23:59:59+00:00",
    }
    assert last_action(request) == "request.granted"
    assert "granted" in delivered_mail()[-1].subject


def test_grant_scope_all(verified_request, officer):
    request, _ = verified_request()
    request_grant(erasure_request=request, officer=officer)
    assert granted_events()[0].payload["scope"] == {"type": "all"}


def test_cannot_grant_before_identity_is_verified(file_request, officer):
    request, _ = file_request()
    with pytest.raises(Conflict) as error:
        request_grant(erasure_request=request, officer=officer)
    assert error.value.code == "identity_not_verified"
    assert granted_events() == [] and ErasureRequest.objects.get(pk=request.pk).status == "submitted"


def test_cannot_grant_twice(verified_request, officer):
    request, _ = verified_request()
    request_grant(erasure_request=request, officer=officer)
    with pytest.raises(Conflict):
        request_grant(erasure_request=request, officer=officer)
    assert len(granted_events()) == 1


@pytest.mark.parametrize("closed", ["refused", "completed", "duplicate"])
def test_cannot_grant_a_closed_request(verified_request, officer, closed):
    request, _ = verified_request()
    ErasureRequest.objects.filter(pk=request.pk).update(status=closed)
    with pytest.raises(Conflict):
        request_grant(erasure_request=request, officer=officer)


# ---- refuse ----


def test_refuse_records_ground_reason_and_the_ccpa_response_fields(
    verified_request, officer, django_capture_on_commit_callbacks
):
    request, token = verified_request()
    with django_capture_on_commit_callbacks(execute=True):
        request = request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)
    assert request.status == "refused" and request.refusal_ground == "gdpr_legal_claims"
    assert request.response_nature == "denied" and request.responded_at
    assert request.retain_until == deadlines.retain_until(timezone.localdate())
    assert REASON in delivered_mail()[-1].body and "legal claims" in delivered_mail()[-1].body
    view = request_owner_view(erasure_request=request)
    assert view["refusal_reason"] == REASON and "legal claims" in view["refusal_ground_label"]
    assert last_action(request) == "request.refused"


def test_an_unverified_request_can_be_refused_for_identity(file_request, officer):
    request, _ = file_request(jurisdiction="CCPA")
    request = request_refuse(
        erasure_request=request, officer=officer, ground="identity_not_verified", reason="The code was never entered."
    )
    assert request.status == "refused" and request.code_hash == ""


@pytest.mark.parametrize(
    ("jurisdiction", "ground"), [("GDPR", "ccpa_security"), ("CCPA", "gdpr_legal_claims"), ("GDPR", "because")]
)
def test_refusal_ground_must_fit_the_jurisdiction(verified_request, officer, jurisdiction, ground):
    request, _ = verified_request(jurisdiction=jurisdiction)
    with pytest.raises(ApplicationError) as error:
        request_refuse(erasure_request=request, officer=officer, ground=ground, reason=REASON)
    assert "ground" in error.value.details


@pytest.mark.parametrize("reason", ["", "   ", "too short", "x" * 5001])
def test_refusal_needs_a_written_reason(verified_request, officer, reason):
    request, _ = verified_request()
    with pytest.raises(ApplicationError) as error:
        request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=reason)
    assert "reason" in error.value.details
    assert ErasureRequest.objects.get(pk=request.pk).status == "verified"


def test_cannot_refuse_a_granted_request(verified_request, officer):
    request, _ = verified_request()
    request_grant(erasure_request=request, officer=officer)
    with pytest.raises(Conflict):
        request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)


def test_cannot_refuse_a_completed_request(verified_request, officer):
    request, _ = verified_request()
    request_grant(erasure_request=request, officer=officer)
    request = complete(request)
    with pytest.raises(Conflict):
        request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)


def test_cannot_refuse_twice(verified_request, officer):
    request, _ = verified_request()
    request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)
    with pytest.raises(Conflict):
        request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)


# ---- extend ----


def test_gdpr_extension_by_two_months_tells_the_owner(verified_request, officer, django_capture_on_commit_callbacks):
    request, _ = verified_request()
    with django_capture_on_commit_callbacks(execute=True):
        request = request_extend(
            erasure_request=request, officer=officer, reason="Many models are affected.", extension=2
        )
    assert request.due_on == deadlines.add_months(request.received_on, 3)
    assert request.original_due_on == deadlines.add_months(request.received_on, 1)
    assert request.extension_reason == "Many models are affected." and request.is_extended
    assert "Many models are affected." in delivered_mail()[-1].body
    assert request.due_on.strftime("%B") in delivered_mail()[-1].body
    assert last_action(request) == "request.extended"


def test_ccpa_extension_defaults_to_45_days(verified_request, officer):
    request, _ = verified_request(jurisdiction="CCPA")
    request = request_extend(erasure_request=request, officer=officer, reason="Many models are affected.")
    assert request.due_on == request.received_on + timedelta(days=90)


def test_cannot_extend_twice(verified_request, officer):
    request, _ = verified_request()
    request_extend(erasure_request=request, officer=officer, reason="Many models are affected.", extension=1)
    with pytest.raises(Conflict) as error:
        request_extend(erasure_request=request, officer=officer, reason="Still more models to go.", extension=1)
    assert error.value.code == "extension_not_allowed"


def test_cannot_extend_after_the_first_period(verified_request, officer):
    request, _ = verified_request()
    past = date.today() - timedelta(days=40)
    ErasureRequest.objects.filter(pk=request.pk).update(received_on=past, due_on=deadlines.add_months(past, 1))
    with pytest.raises(Conflict) as error:
        request_extend(erasure_request=request, officer=officer, reason="Many models are affected.")
    assert "window has passed" in error.value.message


@pytest.mark.parametrize(("jurisdiction", "extension"), [("GDPR", 3), ("CCPA", 46), ("GDPR", 0)])
def test_cannot_extend_beyond_the_maximum(verified_request, officer, jurisdiction, extension):
    request, _ = verified_request(jurisdiction=jurisdiction)
    with pytest.raises(ApplicationError) as error:
        request_extend(
            erasure_request=request, officer=officer, reason="Many models are affected.", extension=extension
        )
    assert "extension" in error.value.details
    assert not ErasureRequest.objects.get(pk=request.pk).is_extended


def test_cannot_extend_a_closed_request(verified_request, officer):
    request, _ = verified_request()
    request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)
    with pytest.raises(Conflict):
        request_extend(erasure_request=request, officer=officer, reason="Many models are affected.")


def test_extension_needs_a_reason(verified_request, officer):
    request, _ = verified_request()
    with pytest.raises(ApplicationError):
        request_extend(erasure_request=request, officer=officer, reason="")


# ---- reopen ----


def test_reopen_a_refused_request_returns_it_to_review(verified_request, officer):
    request, _ = verified_request()
    request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)
    request = request_reopen(erasure_request=request, officer=officer, reason="The litigation hold was lifted.")
    assert request.status == "verified" and request.reopen_count == 1
    assert request.refusal_ground == "" and request.responded_at is None and request.retain_until is None
    assert last_action(request) == "request.reopened"
    request_grant(erasure_request=request, officer=officer)


def test_reopen_a_request_refused_for_identity_returns_it_to_verification(file_request, officer):
    request, _ = file_request()
    request_refuse(
        erasure_request=request, officer=officer, ground="identity_not_verified", reason="The code was never entered."
    )
    request = request_reopen(erasure_request=request, officer=officer, reason="The owner called and asked again.")
    assert request.status == "submitted" and request.code_sends == 0


def test_reopen_a_completed_request_allows_a_new_grant(verified_request, officer):
    request, _ = verified_request()
    request_grant(erasure_request=request, officer=officer)
    request = complete(request)
    request = request_reopen(erasure_request=request, officer=officer, reason="A model was missed in the lineage.")
    assert request.status == "verified"
    request_grant(erasure_request=request, officer=officer)
    assert len(granted_events()) == 2


@pytest.mark.parametrize("state", ["submitted", "verified", "granted", "duplicate"])
def test_cannot_reopen_a_request_that_is_not_closed_by_a_decision(verified_request, officer, state):
    request, _ = verified_request()
    ErasureRequest.objects.filter(pk=request.pk).update(status=state)
    with pytest.raises(Conflict):
        request_reopen(erasure_request=request, officer=officer, reason="Reopen for whatever reason.")


def test_reopen_needs_a_reason(verified_request, officer):
    request, _ = verified_request()
    request_refuse(erasure_request=request, officer=officer, ground="gdpr_legal_claims", reason=REASON)
    with pytest.raises(ApplicationError):
        request_reopen(erasure_request=request, officer=officer, reason="")


# ---- events from the registry ----


def test_completion_event_completes_the_request_once(verified_request, officer, django_capture_on_commit_callbacks):
    request, _ = verified_request()
    request_grant(erasure_request=request, officer=officer)
    payload = {
        "request_id": str(request.id),
        "datasets": [{"dataset": "d1"}],
        "models": [{"model": "m1"}, {"model": "m2"}],
    }
    event = outbox_publish(topic="request.erasure_completed", payload=payload)
    with django_capture_on_commit_callbacks(execute=True):
        assert outbox_event_consume(event_id=event.id) == ["subject_requests.complete"]
    assert outbox_event_consume(event_id=event.id) == []
    request.refresh_from_db()
    assert request.status == "completed" and request.completion_record == payload
    assert request.response_nature == "complied" and request.retain_until and request.completed_at
    assert "erased" in delivered_mail()[-1].subject and "2 model(s)" in delivered_mail()[-1].body
    assert AuditEvent.objects.filter(entity_id=str(request.id), action="request.completed").count() == 1


def test_completion_for_a_request_not_granted_is_recorded_and_ignored(verified_request):
    request, _ = verified_request()
    request = complete(request)
    assert request.status == "verified" and request.completion_record is None
    assert last_action(request) == "request.completion_ignored"


def test_completion_for_an_unknown_request_is_harmless():
    event = outbox_publish(
        topic="request.erasure_completed", payload={"request_id": "not-a-uuid", "datasets": [], "models": []}
    )
    assert outbox_event_consume(event_id=event.id) == ["subject_requests.complete"]
    assert request_complete(payload={"request_id": "3f2504e0-4f89-11d3-9a0c-0305e82c3301"}) is None


def test_progress_event_shows_on_the_owner_timeline(verified_request, officer):
    request, _ = verified_request()
    request_grant(erasure_request=request, officer=officer)
    event = outbox_publish(
        topic="request.erasure_progress",
        payload={"request_id": str(request.id), "stage": "datasets_erased", "detail": {"datasets": 2}},
    )
    outbox_event_consume(event_id=event.id)
    request.refresh_from_db()
    assert request.progress_stage == "datasets_erased"
    timeline = request_owner_view(erasure_request=request)["timeline"]
    assert timeline[-1]["label"] == "Progress" and timeline[-1]["detail"] == "Erased from our datasets"


def test_the_owner_timeline_hides_internal_events(verified_request, officer):
    request, _ = verified_request()
    request_extend(erasure_request=request, officer=officer, reason="Many models are affected.", extension=1)
    labels = [entry["label"] for entry in request_owner_view(erasure_request=request)["timeline"]]
    assert labels == ["Request received", "Receipt confirmed", "Identifier confirmed as yours", "Deadline extended"]
