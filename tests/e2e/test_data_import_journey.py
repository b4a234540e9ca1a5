"""Bring your own data in a real headless Chromium: an ML engineer registers a dataset, fills the
import form with the README's example CSV and its spec, previews the first records and a refused
row, starts the import, and watches the job (run by a real Celery worker) finish with the rows
it left out listed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from erasure_platform.accounts.roles import Role
from erasure_platform.registry.models import DatasetVersion
from tests.platform.portal.readable import unreadable

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


def test_an_engineer_previews_and_imports_a_csv_through_the_portal(
    sign_in_as, event_pipeline, settings, process_env, tmp_path
):
    roots = tmp_path / "team-exports"
    roots.mkdir()
    source = roots / "tickets.csv"
    shutil.copy(EXAMPLES / "support-tickets.csv", source)
    with source.open("a", encoding="utf-8") as handle:
        handle.write('T-1007,,Anonymous,"A ticket nobody can be found for",2026-09-07T00:00:00Z,\n')
    settings.ERASURE_DATASET_IMPORT_ROOTS = [str(roots)]
    process_env["ERASURE_DATASET_IMPORT_ROOTS"] = str(roots)  # the worker checks nothing, but reads the same
    event_pipeline.start(queues="default")
    page, _ = sign_in_as(Role.ML_ENGINEER)

    page.goto("/ml/datasets/")
    page.get_by_label("Name").fill("team-tickets")
    page.get_by_role("button", name="Register").click()
    expect(page.get_by_role("heading", name="Import records into team-tickets")).to_be_visible()

    page.get_by_label("Location").fill(str(source))
    page.get_by_label("Dataset spec (JSON or YAML)").fill((EXAMPLES / "support-tickets.spec.json").read_text())
    page.get_by_role("button", name="Preview the first rows").click()
    preview = page.locator("#import-preview")
    expect(preview.get_by_role("heading", name="Preview: nothing has been written")).to_be_visible()
    expect(page.locator("#preview-records tbody tr")).to_have_count(6)
    expect(page.locator("#preview-records")).to_contain_text("Cannot log in")
    expect(page.locator("#preview-refused")).to_contain_text("no identifier")
    assert "ada.moreau@example.org" not in page.locator("#preview-records").inner_text()
    assert not unreadable(page.locator("#preview-records").inner_text())
    assert not DatasetVersion.objects.filter(dataset__name="team-tickets").exists()

    page.get_by_label(re.compile("Leave refused rows out")).check()
    page.get_by_role("button", name="Start the import").click()
    expect(page).to_have_url(re.compile(r"/ml/jobs/[0-9a-f-]+/$"))
    expect(page.locator("#job-status")).to_have_text("Succeeded", timeout=60_000)
    expect(page.locator("#job-refused-rows")).to_contain_text("left out of the version")
    expect(page.locator("#job-refused-rows")).to_contain_text("no identifier")
    version = DatasetVersion.objects.get(dataset__name="team-tickets")
    assert version.record_count == 6 and version.source["files"] == [str(source)]

    page.goto("/ml/datasets/")
    row = page.locator("#dataset-table tr", has_text="team-tickets")
    expect(row).to_contain_text("v0001")
    expect(row).to_contain_text("1 file")
