from datetime import timedelta

import pytest
from django.utils import timezone

from erasure_platform.core.models import AuditEvent
from erasure_platform.evidence.services.certificates import certificate_issue
from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.selectors import request_contact_email
from erasure_platform.subject_requests.services.retention import requests_purge_expired_contacts
from tests.platform.evidence.helpers import complete


@pytest.mark.django_db
def test_contacts_are_purged_after_the_retention_period_and_evidence_stays(verified_request, officer, settings):
    settings.ERASURE_CONTACT_RETENTION_DAYS = 30
    done, _ = verified_request(identifier="ada@example.com")
    done = complete(done, officer)
    certificate = certificate_issue(erasure_request=done)
    still_open, _ = verified_request(identifier="bob@example.com")
    assert request_contact_email(erasure_request=done) == "ada@example.com"

    assert requests_purge_expired_contacts() == 0, "closed today: still within the retention period"
    assert requests_purge_expired_contacts(now=timezone.now() + timedelta(days=31)) == 1
    done = ErasureRequest.objects.get(pk=done.pk)
    assert done.contact_purged_at is not None and request_contact_email(erasure_request=done) is None
    assert done.subject_key and done.completion_record and done.certificate.pk == certificate.pk
    assert request_contact_email(erasure_request=ErasureRequest.objects.get(pk=still_open.pk)) == "bob@example.com"
    assert AuditEvent.objects.filter(action="request.contact_purged", actor="system:retention").count() == 1
    assert requests_purge_expired_contacts(now=timezone.now() + timedelta(days=31)) == 0
