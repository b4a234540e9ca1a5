"""Pages that wait for background work update in place (htmx polling of one panel), and stop
polling once the work is done; htmx itself is served from our own static files."""

import pytest
from django.test import Client

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_create
from erasure_platform.core.models import Job
from erasure_platform.subject_requests.models import ErasureRequest

pytestmark = pytest.mark.django_db


def engineer_client() -> Client:
    client = Client()
    client.force_login(user_create(username="eng", password="x" * 16, roles=[Role.ML_ENGINEER]))
    return client


def test_a_running_job_panel_polls_itself_and_a_finished_one_stops():
    job = Job.objects.create(
        kind="orchestration.unlearn",
        queue="gpu",
        status=Job.Status.RUNNING,
        progress=0.42,
        progress_message="retraining shard 3",
        created_by="user:eng",
    )
    client = engineer_client()
    html = client.get(f"/ml/jobs/{job.pk}/").content.decode()
    assert 'http-equiv="refresh"' not in html  # no whole-page reloads any more
    panel = html[html.index('id="job-panel"') :]
    assert f'hx-get="/ml/jobs/{job.pk}/"' in panel[:300] and 'hx-select="#job-panel"' in panel[:300]
    assert 'id="job-percent">42%' in panel and "retraining shard 3" in panel
    assert "django_htmx/htmx" in html and "unpkg" not in html

    Job.objects.filter(pk=job.pk).update(status=Job.Status.SUCCEEDED, progress=1.0, result={"candidate_count": 1})
    html = client.get(f"/ml/jobs/{job.pk}/").content.decode()
    assert 'id="job-panel">' in html and "hx-get" not in html[html.index('id="job-panel"') :][:200]
    assert "<dt>Candidate count</dt><dd>1</dd>" in html


def test_owner_status_refreshes_while_the_erasure_runs(file_request, officer, django_capture_on_commit_callbacks):
    from erasure_platform.subject_requests.services import request_grant, request_verify_identity
    from tests.platform.subject_requests.conftest import last_code

    request, token = file_request()
    page = Client().get(f"/requests/s/{token}/").content.decode()
    assert 'data-live="on"' not in page  # waiting for the owner, not for us
    with django_capture_on_commit_callbacks(execute=True):
        request = request_verify_identity(erasure_request=request, code=last_code())
        request_grant(erasure_request=request, officer=officer, reason="")
    page = Client().get(f"/requests/s/{token}/").content.decode()
    assert 'id="owner-status" hx-get="/requests/s/' in page and 'data-live="on"' in page
    ErasureRequest.objects.filter(pk=request.pk).update(status="refused")
    page = Client().get(f"/requests/s/{token}/").content.decode()
    assert 'data-live="on"' not in page


def test_the_officers_request_page_refreshes_its_facts_while_the_erasure_runs(
    file_request, officer, django_capture_on_commit_callbacks
):
    from erasure_platform.subject_requests.services import request_grant, request_verify_identity
    from tests.platform.subject_requests.conftest import last_code

    request, _ = file_request()
    client = Client()
    client.force_login(officer)
    page = client.get(f"/requests/review/{request.pk}/").content.decode()
    assert 'id="request-facts">' in page and 'data-live="on"' not in page  # waiting for the owner
    with django_capture_on_commit_callbacks(execute=True):
        request = request_verify_identity(erasure_request=request, code=last_code())
        request_grant(erasure_request=request, officer=officer, reason="")
    page = client.get(f"/requests/review/{request.pk}/").content.decode()
    panel = page[page.index('id="request-facts"') :][:300]
    assert f'hx-get="/requests/review/{request.pk}/"' in panel and 'hx-select="#request-facts"' in panel
    ErasureRequest.objects.filter(pk=request.pk).update(status="completed")
    page = client.get(f"/requests/review/{request.pk}/").content.decode()
    assert 'id="request-facts">' in page and 'data-live="on"' not in page


def test_a_candidate_page_polls_while_its_verification_runs_and_stops_with_the_verdict():
    from tests.platform.registry.helpers import World, fake_version

    world = World(train=False, subjects=3)
    job = Job.objects.create(kind="orchestration.verify", queue="gpu", status=Job.Status.QUEUED, created_by="t")
    candidate = fake_version(world.model, batch=None)
    candidate.verification_job = job
    candidate.save(update_fields=["verification_job"])
    client = engineer_client()
    page = client.get(f"/ml/versions/{candidate.pk}/").content.decode()
    panel = page[page.index('id="version-panel"') :][:300]
    assert f'hx-get="/ml/versions/{candidate.pk}/"' in panel and "Being verified" in page
    Job.objects.filter(pk=job.pk).update(status=Job.Status.FAILED, error="out of memory on the gpu worker")
    page = client.get(f"/ml/versions/{candidate.pk}/").content.decode()
    assert 'data-live="on"' not in page and "out of memory on the gpu worker" in page


def test_htmx_is_served_locally():
    html = Client().get("/").content.decode()
    src = html[html.index("django_htmx/htmx") :].split('"')[0]
    assert Client().get("/static/" + src).status_code == 200


def test_portal_format_filters():
    from erasure_platform.portal.templatetags.portal_format import figure, job_label, label

    assert label("awaiting_approval") == "Awaiting approval"
    assert label("closer_to_target_is_better") == "Closer to target is better"
    assert figure(0.49583333333333335) == "0.496" and figure(12) == 12 and figure("x") == "x"
    assert figure(1234.5678, 2) == "1,235" and figure(2.456e-7) == "2.46 × 10⁻⁷" and figure(0.0) == "0"
    assert job_label("orchestration.unlearn") == "Unlearn"
    assert (
        figure(0.05) == "0.05"
        and figure(0.000123456) == "1.23 × 10⁻⁴"
        and figure(3e12) == "3 × 10¹²"
        and figure(0.0012345) == "0.0012"
    )
    assert label("utility.retain_perplexity_increase") == "Utility · Retain perplexity increase"
    assert label("quantized_4bit.membership_auc") == "Quantized 4-bit · Membership AUC"
    assert label("sisa-exact") == "SISA exact" and label("lm-lora") == "LM LoRA"


def test_audit_details_read_as_words():
    from erasure_platform.portal.templatetags.portal_format import details

    assert details({"due_on": "2027-01-01", "record_count": 0, "ratio": 0.49583333333333335}) == (
        "Due on: 2027-01-01 · Record count: 0 · Ratio: 0.496"
    )
    assert details({"models": [{"b": 1}]}) == "Models: B 1" and details({}) == "—" and details(None) == ""
    assert details({"model_version": "6f1b8f4e-51a2-4c51-9f7e-6a0f0e7c2b11", "seconds": 1.234567}) == "Seconds: 1.23"
    sentence = "failed: membership.min_k.auc; exceeds its target by 0.012345 (see example.com)"
    assert details(sentence) == "failed: Membership · Min-K% · AUC; exceeds its target by 0.0123 (see example.com)"
