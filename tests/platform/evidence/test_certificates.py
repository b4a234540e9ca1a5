import json

import pytest

from erasure_engine.evidence import verify_document
from erasure_engine.evidence.signing import SignatureInvalid
from erasure_platform.core.errors import Conflict
from erasure_platform.core.models import AuditEvent
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.evidence.keys import evidence_public_key
from erasure_platform.evidence.models import Certificate
from erasure_platform.evidence.services.certificates import certificate_issue
from erasure_platform.subject_requests.models import ErasureRequest
from tests.platform.evidence.helpers import complete, pdf_text


@pytest.mark.django_db
def test_completed_request_gets_a_signed_certificate_and_a_matching_pdf(verified_request, officer, tmp_path):
    request, _ = verified_request()
    request = complete(request, officer)
    certificate = certificate_issue(erasure_request=request)

    signed = platform_object_store().get_bytes(certificate.json_key)
    document = verify_document(signed, evidence_public_key()).document
    assert document["request"]["reference"] == request.reference
    assert document["request"]["subject_key"] == request.subject_key
    assert "ada@example.com" not in signed.decode()
    assert document["request"]["deadline_met"] is True
    assert document["datasets"][0]["removed"][1]["content_hash"] == "b" * 64
    assert document["models"][0]["version_after"] == "2"
    completed = AuditEvent.objects.select_related("leaf").get(action="request.completed", entity_id=str(request.id))
    assert document["audit_chain_head"] == {
        "leaf_index": completed.leaf.leaf_index,
        "recorded_at": completed.occurred_at.isoformat(),
    }
    proven = [entry["event"]["uid"] for entry in document["transparency"]["events"]]
    assert proven == [
        str(e.uid)
        for e in AuditEvent.objects.filter(entity_id=str(request.id))
        .exclude(action="certificate.issued")
        .order_by("leaf__leaf_index")
    ]
    root = document["transparency"]["sth"]["document"]["root_hash"]

    text = pdf_text(certificate.pdf_key, tmp_path)
    assert request.reference in text and root in text and request.subject_key in text
    assert "support-lm" in text and "Deadline met" in text
    # The PDF says how to verify the signed certificate offline: the key, the command, what it prints.
    flat = " ".join(text.split())
    assert "How to verify this certificate offline" in flat
    assert "/evidence/certificates/public-key.pem" in flat and document["issuer"]["key_id"] in flat
    assert "erasure-engine verify-certificate certificate.json --public-key erasure-public.pem" in flat
    assert "VALID" in flat and "certificate verified" in flat

    with pytest.raises(SignatureInvalid):
        verify_document(signed.replace(b'"deadline_met":true', b'"deadline_met":fals'), evidence_public_key())


@pytest.mark.django_db
def test_issuing_twice_returns_the_same_certificate(verified_request, officer):
    request, _ = verified_request()
    request = complete(request, officer)
    first = certificate_issue(erasure_request=request)
    assert certificate_issue(erasure_request=request).pk == first.pk
    assert Certificate.objects.count() == 1
    assert AuditEvent.objects.filter(action="certificate.issued").count() == 1


@pytest.mark.django_db
def test_open_requests_get_no_certificate(verified_request):
    request, _ = verified_request()
    with pytest.raises(Conflict):
        certificate_issue(erasure_request=request)
    assert not Certificate.objects.exists()


@pytest.mark.django_db
def test_completion_announces_the_certificate(verified_request, officer):
    from erasure_platform.core.models import OutboxEvent
    from erasure_platform.core.services.outbox import outbox_event_consume

    request, _ = verified_request()
    complete(request, officer)
    event = OutboxEvent.objects.get(topic="request.completed", payload__request_id=str(request.id))
    assert "evidence.issue_certificate" in outbox_event_consume(event_id=event.id)
    assert Certificate.objects.filter(request=request).exists()
    document = json.loads(platform_object_store().get_bytes(Certificate.objects.get().json_key))["document"]
    assert document["kind"] == "certificate-of-erasure"


@pytest.mark.django_db
def test_owner_downloads_the_certificate_only_with_their_link(verified_request, file_request, officer):
    from django.test import Client

    request, token = verified_request()
    complete(request, officer)
    _, other_token = file_request(identifier="eve@example.com")
    client = Client()
    assert client.get(f"/evidence/certificates/{token}/certificate.json").status_code == 404  # not issued yet
    certificate_issue(erasure_request=ErasureRequest.objects.get(pk=request.pk))
    response = client.get(f"/evidence/certificates/{token}/certificate.json")
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert (
        verify_document(response.content, evidence_public_key()).document["request"]["reference"] == request.reference
    )
    assert client.get(f"/evidence/certificates/{token}/certificate.pdf").content.startswith(b"%PDF")
    status = client.get(f"/requests/s/{token}/").content.decode()
    assert 'href="/evidence/certificates/public-key.pem"' in status and "Verify the certificate offline" in status
    assert "erasure-engine verify-certificate certificate.json --public-key erasure-public.pem" in status
    assert client.get(f"/evidence/certificates/{other_token}/certificate.json").status_code == 404
    assert client.get("/evidence/certificates/not-a-token/certificate.json").status_code == 404
