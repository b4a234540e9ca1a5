"""A duplicate resolves with its original (status, certificate for a verified owner); an officer sees
that an identifier was already erased."""

import pytest
from django.test import Client

from erasure_platform.evidence.services.certificates import certificate_issue
from erasure_platform.subject_requests.services import request_verify_identity
from tests.platform.evidence.helpers import complete
from tests.platform.subject_requests.conftest import last_code

pytestmark = pytest.mark.django_db


def test_verified_duplicate_follows_its_original_to_the_certificate(
    file_request, officer, django_capture_on_commit_callbacks
):
    first, _ = file_request()
    code_first = last_code()
    second, second_token = file_request()
    code_second = last_code()
    with django_capture_on_commit_callbacks(execute=True):
        first = request_verify_identity(erasure_request=first, code=code_first)
        second = request_verify_identity(erasure_request=second, code=code_second)
    assert second.status == "duplicate" and second.duplicate_of_id == first.id
    owner = Client()
    page = owner.get(f"/requests/s/{second_token}/").content.decode()
    assert first.reference in page and 'id="original-status"' in page
    assert owner.get(f"/evidence/certificates/{second_token}/certificate.json").status_code == 404

    with django_capture_on_commit_callbacks(execute=True):
        first = complete(first, officer)
    certificate_issue(erasure_request=first)
    page = owner.get(f"/requests/s/{second_token}/").content.decode()
    assert 'id="original-status">Completed<' in page and 'id="certificate"' in page
    download = owner.get(f"/evidence/certificates/{second_token}/certificate.json")
    assert download.status_code == 200 and first.reference.encode() in download.content


def test_unverified_duplicate_sees_the_outcome_but_not_the_certificate(
    verified_request, file_request, officer, django_capture_on_commit_callbacks
):
    first, _ = verified_request()
    duplicate, token = file_request()  # filed while the first is open and verified: a duplicate at once
    assert duplicate.status == "duplicate" and duplicate.identity_verified_at is None
    with django_capture_on_commit_callbacks(execute=True):
        first = complete(first, officer)
    certificate_issue(erasure_request=first)
    page = Client().get(f"/requests/s/{token}/").content.decode()
    assert 'id="original-status">Completed<' in page and 'id="certificate"' not in page
    assert Client().get(f"/evidence/certificates/{token}/certificate.json").status_code == 404


def test_officer_is_told_the_identifier_was_already_erased(
    verified_request, file_request, officer, django_capture_on_commit_callbacks
):
    first, _ = verified_request()
    with django_capture_on_commit_callbacks(execute=True):
        first = complete(first, officer)
    again, _ = file_request()
    client = Client()
    client.force_login(officer)
    page = client.get(f"/requests/review/{again.id}/").content.decode()
    assert 'id="prior-erasures"' in page and first.reference in page
    first_page = client.get(f"/requests/review/{first.id}/").content.decode()
    assert 'id="prior-erasures"' not in first_page
