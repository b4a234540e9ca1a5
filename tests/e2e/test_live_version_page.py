"""A candidate's page updates by itself while its verification runs (htmx polling of one panel, as
the job page does): opened before the verdict, it shows the verification running and no release
form; once the job has run, the verdict and the release form appear without a reload."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from erasure_platform.accounts.roles import Role
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.registry.models import ModelVersion
from tests.platform.orchestration.helpers import erase_and_unlearn
from tests.platform.registry.helpers import World

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_candidate_page_shows_its_verdict_without_a_reload(sign_in_as, settings):
    settings.JOB_LEASE_SECONDS = 600
    world = World()
    approver_page, _ = sign_in_as(Role.RELEASE_APPROVER)
    _, engineer = sign_in_as(Role.ML_ENGINEER)
    batch = erase_and_unlearn(world, engineer, request_id="live-version-page")
    candidate = ModelVersion.objects.get(batch=batch)
    assert candidate.verdict is None and candidate.verification_job_id

    approver_page.goto(f"/ml/versions/{candidate.pk}/")
    expect(approver_page.locator("#verification-state")).to_contain_text("Being verified")
    expect(approver_page.locator("#version-panel")).to_have_attribute("data-live", "on")
    expect(approver_page.locator("#release-waits")).to_be_visible()
    marker = approver_page.evaluate("() => (window.__notReloaded = true)")  # gone if the page reloads
    assert marker is True

    job_execute(job_id=candidate.verification_job_id, worker="e2e")
    expect(approver_page.locator("#verdict")).to_contain_text("PASSED", timeout=15_000)
    expect(approver_page.get_by_role("button", name="Approve and release")).to_be_visible()
    expect(approver_page.locator("#version-panel")).not_to_have_attribute("data-live", "on")
    assert approver_page.evaluate("() => window.__notReloaded === true"), "the panel was swapped, the page kept"
