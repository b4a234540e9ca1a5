"""The evidence side in a real headless Chromium, with a real worker and dispatcher.

The requests are set up through services (the ML journey covers the whole pipeline): one completed,
one refused, one in review. The owner of the completed one downloads the certificate from their status
page and it verifies offline against the platform's public key; an auditor generates a period report,
waits for the background job, downloads its PDF and JSON, and checks the audit chain."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from erasure_platform.accounts.roles import Role

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REFUSAL = "Your account data is under a litigation hold until the case closes."
REPORT_TIMEOUT_MS = 60_000


@pytest.fixture(autouse=True)
def empty_anchor_store():
    """Signed chain anchors written by earlier tests' dispatchers point at events their flushed
    databases no longer hold; this test's chain starts afresh."""
    from erasure_platform.core.object_store import platform_object_store
    from erasure_platform.evidence.services.anchors import ANCHOR_PREFIX

    store = platform_object_store()
    store.delete_prefix_permanently(ANCHOR_PREFIX)
    yield
    store.delete_prefix_permanently(ANCHOR_PREFIX)


@pytest.fixture
def requests_on_record(staff_user, mailbox, live_url):
    """Three requests filed today, set up through services before any worker runs: completed,
    refused, and verified (in review). Returns them with the completed one's status URL."""
    from erasure_platform.subject_requests.models import Channel
    from erasure_platform.subject_requests.services.intake import request_create, request_verify_identity
    from erasure_platform.subject_requests.services.review import request_complete, request_grant, request_refuse
    from tests.platform.evidence.helpers import COMPLETION

    officer = staff_user(Role.OFFICER, "olivia")

    def filed_and_verified(identifier: str, jurisdiction: str = "GDPR"):
        request, token = request_create(
            identifier=identifier, jurisdiction=jurisdiction, channel=Channel.PORTAL, link_base=live_url
        )
        request = request_verify_identity(erasure_request=request, code=mailbox.code_for(identifier))
        return request, token

    completed, token = filed_and_verified("grace@example.com")
    completed = request_grant(erasure_request=completed, officer=officer, reason="identity verified, no exemption")
    completed = request_complete(payload={"request_id": str(completed.id), **COMPLETION})
    refused, _ = filed_and_verified("henry@example.com")
    refused = request_refuse(erasure_request=refused, officer=officer, ground="gdpr_legal_claims", reason=REFUSAL)
    in_review, _ = filed_and_verified("ivy@example.com", jurisdiction="CCPA")
    return {
        "completed": completed,
        "refused": refused,
        "in_review": in_review,
        "status_url": f"{live_url}/requests/s/{token}/",
    }


@pytest.fixture
def pipeline(requests_on_record, request):
    """The worker and dispatcher start once the requests exist: request.completed → certificate."""
    pipeline = request.getfixturevalue("event_pipeline")
    pipeline.wait_processed("request.completed", consumer="evidence.issue_certificate", timeout=60)
    return pipeline


def platform_public_key(page, live_url):
    """The public key as anyone gets it: from the platform's public download."""
    from erasure_engine.evidence import load_public_key

    response = page.request.get(f"{live_url}/evidence/certificates/public-key.pem")
    assert response.status == 200
    return load_public_key(response.body())


def download(page, link) -> tuple[str, bytes]:
    with page.expect_download() as info:
        link.click()
    downloaded = info.value
    return downloaded.suggested_filename, downloaded.path().read_bytes()


def pdf_text(data: bytes, tmp_path) -> str:
    path = tmp_path / "downloaded.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_owner_downloads_a_certificate_that_verifies_offline(
    requests_on_record, pipeline, new_page, live_url, tmp_path
):
    from erasure_engine.evidence import verify_document
    from erasure_engine.evidence.signing import SignatureInvalid

    completed = requests_on_record["completed"]
    owner = new_page()
    owner.goto(requests_on_record["status_url"])
    expect(owner.locator("#request-status")).to_have_text("Completed")
    certificate = owner.locator("#certificate")
    expect(certificate).to_be_visible()

    name, signed = download(owner, certificate.get_by_role("link", name="signed certificate (JSON)"))
    assert name == f"certificate-{completed.reference}.json"
    document = verify_document(signed, platform_public_key(owner, live_url)).document
    assert document["kind"] == "certificate-of-erasure"
    assert document["request"]["reference"] == completed.reference
    assert document["request"]["subject_key"] == completed.subject_key
    assert [m["model"] for m in document["models"]] == ["support-lm"]
    assert document["datasets"][0]["version_after"] == "v0002"
    tampered = signed.replace(completed.reference.encode(), b"ER-XXXX-XXXX")
    with pytest.raises(SignatureInvalid, match="signature does not match"):
        verify_document(tampered, platform_public_key(owner, live_url))

    name, pdf = download(owner, certificate.get_by_role("link", name="certificate (PDF)"))
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
    text = " ".join(pdf_text(pdf, tmp_path).split())
    assert completed.reference in text
    assert "How to verify this certificate offline" in text and "erasure-engine verify-certificate" in text

    # The page links the public key (.pem) and says how to verify offline, step by step.
    pem = owner.get_by_role("link", name="public key (.pem)")
    assert owner.request.get(live_url + pem.get_attribute("href")).body().startswith(b"-----BEGIN PUBLIC KEY-----")
    steps = owner.locator("#verify-offline")
    expect(steps.get_by_role("heading", name="Verify the certificate offline")).to_be_visible()
    assert steps.locator("li").count() >= 3
    expect(steps).to_contain_text("erasure-engine verify-certificate certificate.json --public-key erasure-public.pem")

    # The certificate is reached only through the owner's own link.
    stranger = new_page()
    token = re.search(r"/requests/s/([^/]+)/", requests_on_record["status_url"]).group(1)
    response = stranger.request.get(f"{live_url}/evidence/certificates/{token[:-4]}abcd/certificate.json")
    assert response.status == 404


def test_auditor_generates_a_period_report_and_checks_the_audit_chain(
    requests_on_record, pipeline, sign_in_as, live_url, tmp_path
):
    from django.utils import timezone

    from erasure_engine.evidence import verify_document
    from erasure_platform.core.models import AuditEvent, SignedTreeHead

    today = timezone.localdate().isoformat()
    auditor, _ = sign_in_as(Role.AUDITOR, "audrey")
    auditor.goto("/evidence/reports/")
    expect(auditor.get_by_role("heading", name="Regulator reports")).to_be_visible()
    auditor.get_by_label("Period start").fill(today)
    auditor.get_by_label("Period end").fill(today)
    auditor.get_by_role("button", name="Generate report").click()
    auditor.wait_for_url(re.compile(r"/evidence/reports/[0-9a-f-]{36}/$"))
    shown = timezone.localdate().strftime("%-d %B %Y")  # the portal's one date format
    expect(auditor.get_by_role("heading", name=f"Report {shown} – {shown}")).to_be_visible()
    # The page refreshes itself until the job is done.
    expect(auditor.get_by_role("status")).to_have_text("Ready.", timeout=REPORT_TIMEOUT_MS)

    name, pdf = download(auditor, auditor.get_by_test_id("report-pdf"))
    assert name.endswith(".pdf") and pdf.startswith(b"%PDF")
    text = pdf_text(pdf, tmp_path)
    assert requests_on_record["refused"].reference in text and "support-lm" in text

    name, signed = download(auditor, auditor.get_by_test_id("report-json"))
    assert name.endswith(".json")
    report = verify_document(signed, platform_public_key(auditor, live_url)).document
    assert report["kind"] == "regulator-report"
    assert report["scope"] == {"kind": "period", "period_start": today, "period_end": today, "request": None}
    figures = report["figures"]
    completed, refused, in_review = (requests_on_record[k] for k in ("completed", "refused", "in_review"))
    assert figures["counts"]["total"] == 3
    assert figures["counts"]["by_status"] == {"completed": 1, "refused": 1, "verified": 1}
    assert figures["counts"]["by_jurisdiction"] == {"CCPA": 1, "GDPR": 2}
    assert figures["counts"]["open"] == 1 and figures["counts"]["overdue"] == 0
    assert figures["deadlines"]["closed"] == 2 and figures["deadlines"]["met"] == 2
    assert figures["deadlines"]["share_met"] == 1.0 and figures["deadlines"]["median_days_to_close"] == 0
    assert [(r["reference"], r["ground"]) for r in figures["refusals"]] == [(refused.reference, "gdpr_legal_claims")]
    assert [(m["request"], m["model"]) for m in figures["models_unlearned"]] == [(completed.reference, "support-lm")]
    assert {r["reference"] for r in figures["requests"]} == {
        completed.reference,
        refused.reference,
        in_review.reference,
    }
    assert report["audit_chain"]["ok"] is True

    # The auditor checks the chain itself.
    auditor.goto("/evidence/audit/")
    auditor.get_by_role("button", name="Verify the audit chain now").click()
    expect(auditor.get_by_role("heading", name="Intact")).to_be_visible()
    head = auditor.get_by_test_id("head-hash").inner_text()
    assert re.fullmatch(r"[0-9a-f]{64}", head)
    assert SignedTreeHead.objects.filter(root_hash=head).exists()
    assert (
        int(auditor.get_by_test_id("events-checked").inner_text())
        >= AuditEvent.objects.filter(action__in=["request.completed", "request.refused", "report.generated"]).count()
        > 0
    )
    expect(auditor.get_by_role("button", name="Grant erasure")).to_have_count(0)  # read-only
