"""The ML side in a real headless Chromium: a live server, a real Celery worker and the dispatcher.

A tiny SISA classifier is trained on generated records that include the owner's; the owner files and
verifies, an officer grants, the registry erases the dataset records and batches the model work, an
ML engineer starts the unlearning job and watches it, is refused when approving their own candidate
(four eyes), and a release approver reads the verification (metric table, ROC plot) and approves. The
owner then sees the request completed. (An owner opening another owner's link is covered by
test_owner_officer_journeys.)"""

from __future__ import annotations

import os
import re

import pytest
from playwright.sync_api import expect

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_create
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan, UnlearningBatch
from erasure_platform.registry.models import ModelVersion, VersionStatus
from tests.e2e.conftest import PASSWORD, officer_opens_request, request_for_status_url, sign_in, wait_until
from tests.platform.portal.readable import unreadable
from tests.platform.registry.helpers import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

JOB_TIMEOUT_MS = 150_000
OVERRIDE = "Tiny demo model: verdict noise on a dozen subjects is accepted for this journey."


@pytest.fixture
def ml_pipeline(process_env, settings, request):
    """The event pipeline with a batching window long enough that only the engineer starts the job."""
    for name in ("ERASURE_BATCH_WINDOW_SECONDS", "ERASURE_BATCH_MAX_AGE_SECONDS"):
        process_env[name] = "3600"  # the worker and dispatcher read these at start
        setattr(settings, name, 3600)
    return request.getfixturevalue("event_pipeline")


@pytest.fixture
def trained_world(transactional_db):
    """A registered model trained (in this process, on the CPU) on 12 generated subjects, in production."""

    return World()


def screenshot(page, name: str) -> None:
    """For review, where a run asks for screenshots (ERASURE_SCREENSHOT_DIR): the page as people see it."""
    folder = os.environ.get("ERASURE_SCREENSHOT_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)


def approve_form_submit(page, button_name: str) -> None:
    """Submit the approve form; a failed verdict needs the override reason the form asks for."""
    override = page.get_by_label(re.compile("Override reason"))
    if override.count():
        override.fill(OVERRIDE)
    page.get_by_role("button", name=button_name).click()
    page.wait_for_load_state()


def test_grant_unlearn_four_eyes_and_release_in_the_browser(
    trained_world, ml_pipeline, owner_request, sign_in_as, new_page, live_url
):

    world = trained_world
    owner_identifier = world.subjects[0].identifier

    # The owner files and verifies in the browser.
    owner, status_url = owner_request(owner_identifier, jurisdiction="GDPR")
    expect(owner.locator("#request-status")).to_have_text("Identity verified — in review")
    erasure_request = request_for_status_url(status_url)

    # An officer grants in the browser; the registry plans the erasure and erases the dataset records.
    officer, _ = sign_in_as(Role.OFFICER, "olivia")
    officer_opens_request(officer, erasure_request.reference)
    officer.get_by_role("button", name="Grant erasure").click()
    expect(officer.get_by_role("status")).to_contain_text("Request granted")

    def batched():
        plan = ErasurePlan.objects.filter(request_id=str(erasure_request.id)).first()
        return (
            plan is not None
            and plan.status == ErasurePlan.Status.AWAITING_MODELS
            and UnlearningBatch.objects.filter(model=world.model, status=BatchStatus.OPEN).exists()
        )

    wait_until(batched, timeout=90, interval=0.5, message="dataset erasure done and the model batched")
    owner.reload()
    expect(owner.locator("#request-status")).to_have_text("Granted — erasure in progress")

    # The ML engineer (who is also a release approver) starts the job and watches its progress.
    engineer_user = user_create(username="erin", password=PASSWORD, roles=[Role.ML_ENGINEER, Role.RELEASE_APPROVER])
    engineer = new_page()
    sign_in(engineer, engineer_user.username)
    engineer.goto(f"/ml/models/{world.model.name}/")
    expect(engineer.get_by_role("heading", name=world.model.name)).to_be_visible()
    expect(engineer.locator("#production-version")).to_have_text(world.production.version_id)
    engineer.get_by_role("button", name="Start unlearning now").click()
    engineer.wait_for_url(re.compile(r"/ml/jobs/[0-9a-f-]{36}/$"))
    expect(engineer.get_by_role("heading", name="Job: Unlearn")).to_be_visible()
    expect(engineer.get_by_label("Progress")).to_be_visible()  # the <progress> bar, refreshed every 2 s
    expect(engineer.get_by_text("started by erin")).to_be_visible()
    engineer.evaluate("window.__sameDocument = true")  # lost on any whole-page reload
    expect(engineer.locator("#job-status")).to_have_text("Succeeded", timeout=JOB_TIMEOUT_MS)
    assert engineer.evaluate("window.__sameDocument === true"), (
        "the job page reloaded itself instead of updating in place"
    )
    expect(engineer.get_by_label("Progress")).to_have_attribute("value", "100")
    expect(engineer.locator("#job-cost")).to_contain_text("Time taken")  # the cost as a table, not a dict
    assert not (found := unreadable(engineer.locator("#job-panel").inner_text())), found
    screenshot(engineer, "ml-engineer-unlearning-job")

    engineer.get_by_role("link", name="Candidate version").click()
    engineer.wait_for_url(re.compile(r"/ml/versions/[0-9a-f-]{36}/$"))
    candidate_url = engineer.url
    expect(engineer.locator("#version-status")).to_have_text("Candidate")

    def verified():
        engineer.reload()
        return engineer.locator("#verdict").count() > 0

    wait_until(verified, timeout=JOB_TIMEOUT_MS / 1000, interval=2, message="the candidate's verification verdict")

    # Four eyes: the engineer who started the job may not approve its candidate.
    approve_form_submit(engineer, "Approve and release")
    expect(engineer.get_by_role("status")).to_contain_text("four eyes")
    expect(engineer.locator("#version-status")).to_have_text("Candidate")

    # Another person, a release approver, reads the verification and approves.
    approver, _ = sign_in_as(Role.RELEASE_APPROVER, "avery")
    approver.goto(candidate_url)
    table = approver.get_by_role("table").filter(has_text="Every metric against its threshold")
    expect(table).to_be_visible()
    expect(table.get_by_role("columnheader", name="Threshold")).to_be_visible()
    assert table.locator("tbody tr").count() >= 3
    expect(table.locator("tbody")).to_contain_text("Membership · Loss · AUC")
    expect(table.locator("tbody")).not_to_contain_text("nats per token")  # a classifier: no per-token units
    # The page reads for people: no raw dicts, UUIDs, underscore slugs or long floats; the request by reference.
    assert not (found := unreadable(approver.locator("main").inner_text())), found
    expect(approver.locator("#version-cost")).to_contain_text("Samples processed")
    expect(approver.locator("#served-requests")).to_contain_text(erasure_request.reference)
    # Every plot fits the page: nothing wider than its container, no sideways scrolling.
    plots = approver.locator("figure.plot img")
    assert plots.count() == 2
    for index in range(plots.count()):
        plot = plots.nth(index)
        wait_until(
            lambda plot=plot: plot.evaluate("img => img.complete && img.naturalWidth > 0"), timeout=10, message="a plot"
        )
        assert plot.evaluate(
            "img => img.getBoundingClientRect().right <= img.closest('main').getBoundingClientRect().right + 1"
        ), "a plot is wider than the page"
    assert approver.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    screenshot(approver, "release-approver-verified-candidate")
    roc = approver.get_by_role("img", name=re.compile("ROC curves"))
    expect(roc).to_be_visible()
    wait_until(
        lambda: roc.evaluate("img => img.complete && img.naturalWidth > 0"), timeout=10, message="the ROC image to load"
    )
    png = approver.request.get(live_url + roc.get_attribute("src"))
    assert png.status == 200 and png.headers["content-type"] == "image/png" and png.body()[:8] == b"\x89PNG\r\n\x1a\n"
    approve_form_submit(approver, "Approve and release")
    expect(approver.get_by_role("status")).to_contain_text("it is now production")
    expect(approver.locator("#version-status")).to_have_text("Released")
    expect(approver.get_by_text(re.compile(r"avery approved"))).to_be_visible()

    candidate = ModelVersion.objects.get(pk=candidate_url.rstrip("/").rsplit("/", 1)[1])
    # The compliant candidate: the deactivated version, made at once (the restoring retrain follows).
    assert candidate.status == VersionStatus.RELEASED and candidate.method == "sisa-deactivate"
    assert candidate.batch.started_by == "erin"

    # The registry completes the request; the owner sees it.
    ml_pipeline.wait_processed("request.erasure_completed", consumer="subject_requests.complete", timeout=60)
    owner.reload()
    expect(owner.locator("#request-status")).to_have_text("Completed")
    expect(owner.get_by_text("Datasets: 1 · Models: 1")).to_be_visible()
