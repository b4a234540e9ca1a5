from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from erasure_engine.records import subject_key
from erasure_platform.core.errors import ApplicationError, Conflict
from erasure_platform.core.models import AuditEvent
from erasure_platform.subject_requests import deadlines
from erasure_platform.subject_requests.crypto import decrypt_text, token_hash
from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.selectors import request_get_by_token
from erasure_platform.subject_requests.services import (
    intake,
    request_purge_contact,
    request_refuse,
    request_resend_code,
    request_verify_identity,
)
from tests.platform.subject_requests.conftest import delivered_mail, last_code

pytestmark = pytest.mark.django_db


def actions(request) -> list[str]:
    return list(AuditEvent.objects.filter(entity_id=str(request.id)).values_list("action", flat=True))


def test_filing_stores_only_the_keyed_hash_and_encrypted_contact(file_request):
    request, token = file_request(
        identifier="  Ada@Example.com ", message="please forget me", contact_email="inbox@example.org"
    )
    assert request.subject_key == subject_key("ada@example.com", settings.SUBJECT_KEY_SECRET)
    row = ErasureRequest.objects.filter(pk=request.pk).values().get()
    flat = repr(row).lower()
    assert "ada@example.com" not in flat and "inbox@example.org" not in flat and "please forget me" not in flat
    assert decrypt_text(row["contact_email_encrypted"]) == "inbox@example.org"
    assert decrypt_text(row["verification_address_encrypted"]) == "Ada@Example.com"
    assert row["access_token_hash"] == token_hash(token) and token not in flat
    assert row["code_hash"] and len(row["code_hash"]) == 64
    assert request.status == "submitted" and request.receipt_confirmed_at is not None
    assert request.due_on == deadlines.response_due("GDPR", request.received_on)
    assert actions(request) == ["request.submitted", "request.receipt_confirmed"]
    audit_text = repr(list(AuditEvent.objects.values_list("data", flat=True))).lower()
    assert "ada@example.com" not in audit_text and "inbox@example.org" not in audit_text


def test_receipt_goes_to_the_contact_and_the_code_to_the_identifier(file_request):
    request, token = file_request(
        identifier="ada@example.com", contact_email="inbox@example.org", link_base="https://p.test"
    )
    receipt, code_mail = delivered_mail()
    assert receipt.to == ["inbox@example.org"] and request.reference in receipt.subject
    assert f"https://p.test/requests/s/{token}/" in receipt.body
    assert request.due_on.strftime("%B %Y") in receipt.body
    assert code_mail.to == ["ada@example.com"] and last_code("ada@example.com")


def test_customer_id_needs_a_contact_address(file_request):
    with pytest.raises(ApplicationError) as error:
        file_request(identifier="CUST-0042")
    assert error.value.code == "validation_error" and "contact_email" in error.value.details
    request, _ = file_request(identifier="CUST-0042", contact_email="c@example.org")
    assert request.identifier_kind == "customer_id"
    assert delivered_mail()[-1].to == ["c@example.org"]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"identifier": ""}, "identifier"),
        ({"identifier": "not-an-email@"}, "identifier"),
        ({"jurisdiction": "LGPD"}, "jurisdiction"),
        ({"scope_type": "records", "record_ids": []}, "record_ids"),
        ({"scope_type": "records", "record_ids": ["ok", ""]}, "record_ids"),
        ({"scope_type": "all", "record_ids": ["r1"]}, "record_ids"),
        ({"scope_type": "some"}, "scope_type"),
        ({"channel": "fax"}, "channel"),
        ({"contact_email": "nope"}, "contact_email"),
        ({"message": "x" * 2001}, "message"),
    ],
)
def test_invalid_input_is_refused_with_a_field_message(file_request, kwargs, field):
    with pytest.raises(ApplicationError) as error:
        file_request(**kwargs)
    assert field in error.value.details
    assert ErasureRequest.objects.count() == 0


def test_named_records_are_deduplicated(file_request):
    request, _ = file_request(scope_type="records", record_ids=["r-1", " r-2", "r-1"])
    assert request.record_ids == ["r-1", "r-2"]


def test_ccpa_request_gets_45_days(file_request):
    request, _ = file_request(jurisdiction="CCPA")
    assert request.due_on == request.received_on + timedelta(days=45)


def test_the_right_code_verifies_identity(file_request, django_capture_on_commit_callbacks):
    request, _ = file_request()
    with django_capture_on_commit_callbacks(execute=True):
        request = request_verify_identity(erasure_request=request, code=last_code())
    assert request.status == "verified" and request.identity_verified_at is not None
    assert request.code_hash == ""
    assert "request.identity_verified" in actions(request)
    assert "confirmed" in delivered_mail()[-1].subject.lower()


def test_a_wrong_code_counts_an_attempt_that_survives_the_error(file_request):
    request, _ = file_request()
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    with pytest.raises(ApplicationError) as error:
        request_verify_identity(erasure_request=request, code=wrong)
    assert error.value.code == "code_invalid" and error.value.details["attempts_left"] == 4
    request.refresh_from_db()
    assert request.code_attempts == 1 and request.status == "submitted"
    assert "request.identity_code_rejected" in actions(request)


def test_attempts_are_limited_even_for_the_right_code(file_request):
    request, _ = file_request()
    right = last_code()
    wrong = "000000" if right != "000000" else "111111"
    for _ in range(intake.CODE_MAX_ATTEMPTS):
        with pytest.raises(ApplicationError):
            request_verify_identity(erasure_request=request, code=wrong)
    with pytest.raises(ApplicationError) as error:
        request_verify_identity(erasure_request=request, code=right)
    assert error.value.code == "code_attempts_exhausted" and error.value.status == 429


def test_an_expired_code_is_refused(file_request):
    request, _ = file_request()
    ErasureRequest.objects.filter(pk=request.pk).update(code_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ApplicationError) as error:
        request_verify_identity(erasure_request=request, code=last_code())
    assert error.value.code == "code_expired"


def test_verifying_twice_is_a_conflict(verified_request):
    request, _ = verified_request()
    with pytest.raises(Conflict):
        request_verify_identity(erasure_request=request, code="123456")


def test_resend_replaces_the_code_and_is_rate_limited(file_request, django_capture_on_commit_callbacks):
    request, token = file_request()
    old = last_code()
    with pytest.raises(ApplicationError) as error:
        request_resend_code(erasure_request=request)
    assert error.value.code == "code_resend_too_soon"
    ErasureRequest.objects.filter(pk=request.pk).update(code_last_sent_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        request = request_resend_code(erasure_request=request, token=token, link_base="https://p.test")
    new = last_code()
    assert request.code_sends == 2
    assert f"https://p.test/requests/s/{token}/verify" in delivered_mail()[-1].body
    if new != old:
        with pytest.raises(ApplicationError):
            request_verify_identity(erasure_request=request, code=old)
    assert request_verify_identity(erasure_request=request, code=new).status == "verified"


def test_resend_stops_after_the_maximum(file_request):
    request, _ = file_request()
    ErasureRequest.objects.filter(pk=request.pk).update(code_sends=intake.CODE_MAX_SENDS, code_last_sent_at=None)
    with pytest.raises(ApplicationError) as error:
        request_resend_code(erasure_request=request)
    assert error.value.code == "code_sends_exhausted"


def test_resend_after_verification_is_a_conflict(verified_request):
    request, _ = verified_request()
    with pytest.raises(Conflict):
        request_resend_code(erasure_request=request)


def test_a_second_request_while_one_is_open_and_verified_is_a_duplicate(verified_request, file_request):
    first, _ = verified_request()
    second, token = file_request(identifier="ADA@example.com")
    assert second.status == "duplicate" and second.duplicate_of_id == first.id
    assert second.code_hash == "" and "one-time code" not in delivered_mail()[-1].body
    assert request_get_by_token(token=token).duplicate_of.reference == first.reference
    assert actions(second)[-1] == "request.marked_duplicate"


def test_two_unverified_requests_coexist_and_the_later_verified_one_becomes_a_duplicate(
    file_request, django_capture_on_commit_callbacks
):
    first, _ = file_request()
    code_first = last_code()
    second, _ = file_request()
    code_second = last_code()
    assert first.status == second.status == "submitted"
    with django_capture_on_commit_callbacks(execute=True):
        assert request_verify_identity(erasure_request=second, code=code_second).status == "verified"
        later = request_verify_identity(erasure_request=first, code=code_first)
    assert later.status == "duplicate" and later.duplicate_of_id == second.id


def test_a_closed_request_does_not_make_a_new_one_a_duplicate(verified_request, file_request, officer):
    first, _ = verified_request()
    request_refuse(
        erasure_request=first,
        officer=officer,
        ground="gdpr_legal_claims",
        reason="Pending litigation hold on the account.",
    )
    second, _ = file_request()
    assert second.status == "submitted"


def test_unknown_token_is_not_found():
    from erasure_platform.core.errors import NotFound

    with pytest.raises(NotFound):
        request_get_by_token(token="x" * 43)
    with pytest.raises(NotFound):
        request_get_by_token(token="")


def test_contact_purge_only_once_closed(verified_request, officer):
    request, _ = verified_request()
    with pytest.raises(Conflict) as error:
        request_purge_contact(erasure_request=request, actor="user:olivia")
    assert error.value.code == "request_open"
    request_refuse(
        erasure_request=request,
        officer=officer,
        ground="gdpr_legal_claims",
        reason="Pending litigation hold on the account.",
    )
    request = request_purge_contact(erasure_request=request, actor="user:olivia")
    assert request.contact_email_encrypted == request.verification_address_encrypted == request.message_encrypted == ""
    assert request.contact_purged_at is not None and request.subject_key
    assert actions(request)[-1] == "request.contact_purged"
    with pytest.raises(Conflict):
        request_purge_contact(erasure_request=request, actor="user:olivia")
