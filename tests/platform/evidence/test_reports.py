import json
from datetime import timedelta

import pytest
from django.utils import timezone

from erasure_engine.evidence import verify_document
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.evidence.keys import evidence_public_key
from erasure_platform.evidence.models import Report
from erasure_platform.evidence.report_figures import report_figures
from erasure_platform.evidence.services.reports import report_request
from erasure_platform.subject_requests.deadlines import days_percentile
from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.selectors import dashboard_figures
from erasure_platform.subject_requests.services.review import request_extend, request_refuse
from tests.platform.evidence.helpers import complete, pdf_text


def test_report_and_dashboard_share_one_days_to_close_rule(known_requests):
    """The report's median days to close is the dashboard's, and neither counts duplicates."""
    today = timezone.localdate()
    figures = report_figures(list(ErasureRequest.objects.all()), today=today)
    dashboard = dashboard_figures(today=today)
    assert figures["deadlines"]["median_days_to_close"] == dashboard["median_days_to_close"]
    assert figures["deadlines"]["closed"] == ErasureRequest.objects.filter(status__in=["completed", "refused"]).count()


def test_days_percentile():
    assert days_percentile([], 50) is None
    assert days_percentile([7], 95) == 7.0
    assert days_percentile([1, 2, 3, 4], 50) == 2.5
    assert days_percentile(list(range(1, 102)), 95) == 96.0


@pytest.fixture
def known_requests(verified_request, file_request, officer):
    """Four requests with known outcomes: completed, refused, extended (open), overdue (open)."""
    completed, _ = verified_request(identifier="ada@example.com")
    complete(completed, officer)
    refused, _ = verified_request(identifier="bob@example.com", jurisdiction="CCPA")
    request_refuse(
        erasure_request=refused,
        officer=officer,
        ground="ccpa_security",
        reason="the account is under a fraud investigation",
    )
    extended, _ = verified_request(identifier="cy@example.com")
    request_extend(erasure_request=extended, officer=officer, reason="the request covers many archived systems")
    overdue, _ = file_request(identifier="dee@example.com")
    # Received six weeks ago and still unanswered.
    past = timezone.localdate() - timedelta(days=42)
    ErasureRequest.objects.filter(pk=overdue.pk).update(received_on=past, due_on=past + timedelta(days=31))
    return {"completed": completed, "refused": refused, "extended": extended, "overdue": overdue}


def build(report):
    assert job_execute(job_id=report.job_id, worker="test") == "succeeded"
    report.refresh_from_db()
    return report


@pytest.mark.django_db
def test_period_report_gives_the_known_counts_in_json_and_pdf(known_requests, tmp_path):
    today = timezone.localdate()
    report = build(report_request(actor="user:officer", period_start=today - timedelta(days=60), period_end=today))

    document = verify_document(platform_object_store().get_bytes(report.json_key), evidence_public_key()).document
    figures = document["figures"]
    assert figures["counts"]["total"] == 4
    assert figures["counts"]["by_status"] == {"completed": 1, "refused": 1, "submitted": 1, "verified": 1}
    assert figures["counts"]["by_jurisdiction"] == {"CCPA": 1, "GDPR": 3}
    assert figures["counts"]["open"] == 2 and figures["counts"]["overdue"] == 1
    assert figures["deadlines"] == {
        "closed": 2,
        "met": 2,
        "share_met": 1.0,
        "median_days_to_close": 0,
        "p95_days_to_close": 0,
    }
    assert [e["reference"] for e in figures["extensions"]] == [known_requests["extended"].reference]
    assert figures["refusals_by_ground"] == {"ccpa_security": 1}
    assert figures["models_unlearned"][0]["model"] == "support-lm"
    assert document["audit_chain"]["ok"] is True

    text = pdf_text(report.pdf_key, tmp_path)
    for label, value in [
        ("Requests", "4"),
        ("Open", "2"),
        ("Overdue", "1"),
        ("Closed requests", "2"),
        ("Share of deadlines met", "100.0%"),
    ]:
        assert any(
            line.split() and " ".join(line.split()[:-1]) == label and line.split()[-1] == value
            for line in text.splitlines()
        ), (label, value)
    assert known_requests["refused"].reference in text and "security incidents" in text
    assert document["audit_chain"]["chain"]["head_hash"] in text


@pytest.mark.django_db
def test_single_request_report(known_requests):
    reference = known_requests["completed"].reference
    report = build(report_request(actor="user:auditor", request_reference=reference))
    document = json.loads(platform_object_store().get_bytes(report.json_key))["document"]
    assert document["scope"]["request"] == reference
    assert [r["reference"] for r in document["figures"]["requests"]] == [reference]
    assert document["figures"]["requests"][0]["deadline_met"] is True


@pytest.mark.django_db
def test_report_requests_are_validated():
    today = timezone.localdate()
    with pytest.raises(ApplicationError, match="ends before it starts"):
        report_request(actor="a", period_start=today, period_end=today - timedelta(days=1))
    with pytest.raises(ApplicationError, match="at most three years"):
        report_request(actor="a", period_start=today - timedelta(days=2000), period_end=today)
    with pytest.raises(ApplicationError, match="give a period"):
        report_request(actor="a")
    with pytest.raises(NotFound):
        report_request(actor="a", request_reference="ER-NOPE")
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_reports_api_and_portal_for_officers_and_auditors(known_requests, officer, auditor, engineer):
    from django.test import Client
    from rest_framework.test import APIClient

    today = timezone.localdate()
    api = APIClient()
    api.force_authenticate(engineer)
    assert (
        api.post("/api/reports", {"period_start": str(today), "period_end": str(today)}, format="json").status_code
        == 403
    )
    api.force_authenticate(auditor)
    bad = api.post(
        "/api/reports", {"period_start": str(today), "period_end": str(today - timedelta(days=3))}, format="json"
    )
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_period"
    created = api.post(
        "/api/reports", {"period_start": str(today - timedelta(days=60)), "period_end": str(today)}, format="json"
    )
    assert created.status_code == 202 and created.json()["status"] == "queued" and created.json()["pdf_url"] is None
    report = Report.objects.get(pk=created.json()["id"])
    build(report)
    detail = api.get(f"/api/reports/{report.id}").json()
    assert detail["status"] == "succeeded" and detail["pdf_url"].endswith("download.pdf")

    portal = Client()
    portal.force_login(officer)
    page = portal.get(f"/evidence/reports/{report.id}/")
    assert b"Download the PDF" in page.content
    pdf = portal.get(detail["pdf_url"])
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    signed = portal.get(detail["json_url"]).content
    assert verify_document(signed, evidence_public_key()).document["report_id"] == str(report.id)
    portal.force_login(engineer)
    assert portal.get(detail["pdf_url"]).status_code == 403


@pytest.mark.django_db
def test_report_shows_the_released_versions_verification_with_its_roc_plot(verified_request, officer, tmp_path):
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from erasure_platform.registry.models import Model, ModelVersion

    figure, axis = plt.subplots()
    axis.plot([0, 1], [0, 1])
    png = io.BytesIO()
    figure.savefig(png, format="png")
    plt.close(figure)
    store = platform_object_store()
    store.put_bytes("verification/support-lm/2/membership_roc.png", png.getvalue())
    model = Model.objects.create(name="support-lm", kind="lm", created_by="user:engineer")
    ModelVersion.objects.create(
        model=model,
        version_id="2",
        layout="sisa",
        artifact_url="file:///x",
        created_by="user:engineer",
        method="sisa-exact",
        verdict={
            "passed": True,
            "metrics": [
                {"name": "membership.loss.auc", "value": 0.512, "threshold": 0.55, "passed": True},
                {"name": "oracle.forget_quality", "value": 0.97, "threshold": 0.05, "passed": True},
            ],
        },
        verdict_passed=True,
        plots={"membership_roc": "verification/support-lm/2/membership_roc.png"},
    )
    request, _ = verified_request()
    complete(request, officer)  # its completion record names support-lm version 2
    report = build(report_request(actor="user:officer", request_reference=request.reference))

    document = json.loads(platform_object_store().get_bytes(report.json_key))["document"]
    [row] = document["verification"]
    assert row["model"] == "support-lm" and row["passed"] is True
    assert row["metrics"]["membership.loss.auc"] == {"value": 0.512, "threshold": 0.55, "passed": True}
    text = pdf_text(report.pdf_key, tmp_path)
    assert "Verification of released models" in text and "0.512 ok" in text
    assert "membership attack ROC" in text
    import subprocess

    pdf_path = tmp_path / "report.pdf"
    pdf_path.write_bytes(platform_object_store().get_bytes(report.pdf_key))
    images = subprocess.run(["pdfimages", "-list", str(pdf_path)], capture_output=True, text=True, check=True).stdout
    kinds = [line.split()[2] for line in images.strip().splitlines()[2:]]  # after the two header lines
    assert kinds.count("image") == 2, "the ROC plot and the days-to-close chart (alpha masks aside)"


def test_days_to_close_chart_has_a_whole_day_axis_from_zero():
    import io

    from matplotlib import image

    from erasure_platform.evidence.services.reports import _days_chart, days_chart_axis

    bins, limits = days_chart_axis([0, 0])
    assert bins == [-0.5, 0.5] and limits == (-0.5, 5.5)
    bins, limits = days_chart_axis([2, 31])
    assert bins[0] == -0.5 and bins[-1] == 31.5 and len(bins) == 33 and limits == (-0.5, 31.5)
    png = _days_chart({"requests": [{"days_to_close": 0}, {"days_to_close": 0}, {"days_to_close": 3}]})
    assert png.startswith(b"\x89PNG") and image.imread(io.BytesIO(png)).shape[2] in (3, 4)
    assert _days_chart({"requests": [{"days_to_close": None}]}) is None


def test_report_reads_only_metric_names_the_engine_emits():
    """The contract between the engine's verdicts and the regulator report: nothing the report asks
    for may be a name no verification produces (the utility column was once always blank)."""
    from erasure_engine.verification import VerificationPolicy, metric_names
    from erasure_platform.evidence.services.reports import REPORT_METRICS

    emitted = set(metric_names("classifier", VerificationPolicy())) | set(
        metric_names("causal_lm", VerificationPolicy())
    )
    assert set(REPORT_METRICS) <= emitted, sorted(set(REPORT_METRICS) - emitted)
