"""Every portal page, per role, in headless Chromium: axe-core finds no serious or critical
accessibility violation, and a screenshot of each page is saved for review in a folder named by
this run (printed; ERASURE_SCREENSHOT_DIR overrides it)."""

from __future__ import annotations

import os
import re
import time
from urllib.parse import urlparse

import pytest
from axe_playwright_python.sync_playwright import Axe

from erasure_platform.accounts.roles import Role
from tests.e2e.conftest import REPO_ROOT, sign_in
from tests.platform.registry.helpers import World, worded_candidate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SERIOUS = {"serious", "critical"}


@pytest.fixture(scope="module")
def screenshot_dir():
    folder = os.environ.get("ERASURE_SCREENSHOT_DIR") or str(
        REPO_ROOT / "var" / "screenshots" / time.strftime("run-%Y%m%d-%H%M%S")
    )
    os.makedirs(folder, exist_ok=True)
    print(f"\nscreenshots of every page: {folder}")
    return folder


def audit(page, path: str, who: str, folder: str, problems: list[str]) -> None:
    response = page.goto(path)
    assert response is not None and response.status < 500, f"{path}: {response and response.status}"
    page.wait_for_load_state("networkidle")
    name = re.sub(r"[^a-zA-Z0-9]+", "-", f"{who}-{path}").strip("-")
    page.screenshot(path=os.path.join(folder, f"{name}.png"), full_page=True)
    results = Axe().run(page)
    assert results.response["testEngine"]["name"] == "axe-core"  # the checks really ran on this page
    for violation in results.response["violations"]:
        if violation["impact"] in SERIOUS:
            targets = [", ".join(node["target"]) for node in violation["nodes"]][:3]
            problems.append(f"{who} {path}: {violation['id']} ({violation['impact']}) {violation['help']} at {targets}")


def test_every_page_per_role_is_accessible(new_page, staff_user, owner_request, screenshot_dir):
    world = World(train=False, subjects=3)
    owner, status_url = owner_request("ada@example.com", jurisdiction="GDPR")
    problems: list[str] = []
    for path in [
        "/",
        "/requests/new",
        "/login/",
        "/evidence/certificates/check/",
        "/no/such/page",
        urlparse(status_url).path,
    ]:
        audit(owner, path, "owner", screenshot_dir, problems)

    from erasure_platform.subject_requests.models import ErasureRequest

    request = ErasureRequest.objects.get()
    candidate = worded_candidate(world.model, request_id=str(request.id))  # the engine's verdict and cost, worded
    pages = {
        Role.OFFICER: [
            "/requests/queue/",
            "/requests/dashboard/",
            "/requests/records/",
            f"/requests/review/{request.id}/",
            f"/ml/lineage/?q={request.reference}",
            "/evidence/reports/",
            "/evidence/audit/",
        ],
        Role.ML_ENGINEER: [
            "/ml/",
            f"/ml/models/{world.model.name}/",
            f"/ml/models/{world.model.name}/method",
            "/ml/lineage/",
            "/ml/datasets/",
            f"/ml/datasets/{world.dataset.name}/import",
        ],
        Role.RELEASE_APPROVER: ["/ml/", f"/ml/versions/{candidate.pk}/"],
        Role.AUDITOR: ["/evidence/reports/", "/requests/queue/"],
    }
    for role, paths in pages.items():
        user = staff_user(role)
        page = new_page()
        sign_in(page, user.username)
        for path in paths:
            audit(page, path, role.value, screenshot_dir, problems)
    assert not problems, "serious accessibility violations:\n" + "\n".join(problems)
    assert len(os.listdir(screenshot_dir)) >= 18
