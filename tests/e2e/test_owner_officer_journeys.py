"""Owner and officer journeys in a real headless Chromium against a live server."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from erasure_platform.accounts.roles import Role
from tests.e2e.conftest import officer_opens_request, owner_files_request, request_for_status_url, wait_until

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
REASON = "Your account data is under a litigation hold until the case closes."


def test_owner_files_and_verifies_officer_grants_and_owner_sees_completion(
    owner_request, sign_in_as, mailbox, event_pipeline
):
    from django.db import transaction

    from erasure_platform.core.services.outbox import outbox_publish

    owner, status_url = owner_request("ada@example.com", jurisdiction="GDPR")
    expect(owner.locator("#request-status")).to_have_text("Identity verified — in review")
    erasure_request = request_for_status_url(status_url)
    expect(owner.get_by_role("heading", level=1)).to_contain_text(erasure_request.reference)
    receipt = mailbox.to("ada@example.com")[0]
    assert erasure_request.reference in receipt["subject"] and status_url in receipt["body"]

    officer, _ = sign_in_as(Role.OFFICER, "olivia")
    officer_opens_request(officer, erasure_request.reference)
    officer.get_by_role("button", name="Grant erasure").click()
    expect(officer.get_by_role("status")).to_contain_text("Request granted")
    expect(officer.locator("#request-status")).to_have_text("Granted — erasure in progress")

    # request.granted leaves through the real dispatcher; the registry's answer is simulated here.
    event_pipeline.wait_processed("request.granted")
    with transaction.atomic():
        outbox_publish(
            topic="request.erasure_progress",
            payload={"request_id": str(erasure_request.id), "stage": "datasets_erased", "detail": {}},
        )
        outbox_publish(
            topic="request.erasure_completed",
            payload={
                "request_id": str(erasure_request.id),
                "datasets": [{"dataset": "demo", "before": 1, "after": 2, "removed_record_hashes": ["ab"]}],
                "models": [{"model": "demo-lm", "before": 1, "after": 2, "method": "sisa", "verdict": "pass"}],
            },
        )
    event_pipeline.wait_processed("request.erasure_completed", consumer="subject_requests.complete")

    owner.reload()
    expect(owner.locator("#request-status")).to_have_text("Completed")
    expect(owner.get_by_role("list").filter(has_text="Erased from our datasets")).to_be_visible()
    expect(owner.get_by_text("Datasets: 1 · Models: 1")).to_be_visible()
    wait_until(
        lambda: any("erased" in m["subject"] for m in mailbox.to("ada@example.com")),
        timeout=20,
        message="the completion e-mail (sent by the worker)",
    )


def test_owner_needs_the_right_code(new_page, mailbox):
    page = new_page()
    status_url = owner_files_request(
        page, identifier="cid-owner@example.com", jurisdiction="CCPA", record_ids=["rec-1", "rec-2"]
    )
    expect(page.get_by_text("The records rec-1, rec-2")).to_be_visible()
    page.get_by_role("link", name="confirm the identifier is yours").click()
    right = mailbox.code_for("cid-owner@example.com")
    page.get_by_label("One-time code").fill("000000" if right != "000000" else "111111")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("4 attempts left")
    page.get_by_label("One-time code").fill(right)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(status_url)
    expect(page.locator("#request-status")).to_have_text("Identity verified — in review")


def test_new_request_form_shows_validation_messages(new_page):
    page = new_page()
    page.goto("/requests/new")
    page.get_by_label("Only the named records").check()
    page.get_by_role("button", name="Send my request").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("This field is required")
    expect(alert).to_contain_text("Name at least one record id")


def test_officer_refuses_with_a_ground_and_the_owner_reads_why(owner_request, sign_in_as):
    owner, status_url = owner_request("bob@example.com", jurisdiction="GDPR")
    reference = request_for_status_url(status_url).reference
    officer, _ = sign_in_as(Role.OFFICER)
    officer_opens_request(officer, reference)
    refuse_form = officer.locator("form", has=officer.get_by_role("button", name="Refuse"))
    refuse_form.get_by_label("Ground for refusal").select_option("gdpr_legal_claims")
    refuse_form.get_by_label("Reason (the owner reads this)").fill("short")
    refuse_form.get_by_role("button", name="Refuse").click()
    expect(officer.get_by_role("alert").first).to_contain_text("Ensure this value has at least 10 characters")
    refuse_form.get_by_label("Ground for refusal").select_option("gdpr_legal_claims")
    refuse_form.get_by_label("Reason (the owner reads this)").fill(REASON)
    refuse_form.get_by_role("button", name="Refuse").click()
    expect(officer.locator("#request-status")).to_have_text("Refused")

    owner.goto(status_url)
    expect(owner.locator("#request-status")).to_have_text("Refused")
    expect(owner.locator("#refusal-ground")).to_contain_text("legal claims")
    expect(owner.locator("#refusal-reason")).to_have_text(REASON)


def test_officer_extends_and_the_owner_sees_the_new_date(owner_request, sign_in_as):
    owner, status_url = owner_request("cleo@example.com", jurisdiction="CCPA")
    erasure_request = request_for_status_url(status_url)
    officer, _ = sign_in_as(Role.OFFICER)
    officer_opens_request(officer, erasure_request.reference)
    extend_form = officer.locator("form", has=officer.get_by_role("button", name="Extend"))
    extend_form.get_by_label(re.compile("Extend by")).fill("45")
    extend_form.get_by_label("Reason (the owner reads this)").fill("Three models were trained on your data.")
    extend_form.get_by_role("button", name="Extend").click()
    expect(officer.get_by_role("status")).to_contain_text("Deadline extended")
    expect(officer.get_by_role("button", name="Extend")).to_have_count(0)  # only once

    erasure_request.refresh_from_db()
    new_date = f"{erasure_request.due_on.day} {erasure_request.due_on.strftime('%B %Y')}"
    owner.goto(status_url)
    expect(owner.locator("#extended-due")).to_have_text(new_date)
    expect(owner.locator("#extension-reason")).to_have_text("Three models were trained on your data.")
    expect(owner.locator("#due-date")).to_contain_text(new_date)


def test_an_owner_cannot_open_another_owners_request(owner_request, new_page, live_url):
    _, first_url = owner_request("dora@example.com", verify=False)
    first = request_for_status_url(first_url)
    intruder = new_page()
    owner_files_request(intruder, identifier="eve@example.com")
    token = re.search(r"/requests/s/([^/]+)/", first_url).group(1)
    for path in (
        f"/requests/s/{first.id}/",
        f"/requests/s/{first.reference}/",
        f"/requests/s/{token[:-3]}abc/",
        f"/requests/s/{token[:-3]}abc/verify",
        f"/requests/review/{first.id}/",
    ):
        response = intruder.goto(path)
        if "/review/" in path:
            assert "/login/" in intruder.url  # staff pages: sign-in, not the request
        else:
            assert response.status == 404, path
        expect(intruder.get_by_text(first.reference)).to_have_count(0)
    api = intruder.request.get(f"{live_url}/api/owner/requests/{token[:-3]}abc")
    assert api.status == 404 and api.json()["error"]["code"] == "not_found"


def test_the_officer_queue_needs_an_officer_or_auditor(new_page, sign_in_as, owner_request):
    _, status_url = owner_request("finn@example.com")
    reference = request_for_status_url(status_url).reference
    anonymous = new_page()
    anonymous.goto("/requests/queue/")
    assert "/login/" in anonymous.url
    expect(anonymous.get_by_role("heading", name="Staff sign-in")).to_be_visible()

    engineer, _ = sign_in_as(Role.ML_ENGINEER)
    response = engineer.goto("/requests/queue/")
    assert response.status == 403
    expect(engineer.get_by_role("alert")).to_contain_text("does not have a role")
    expect(engineer.get_by_text(reference)).to_have_count(0)

    auditor, _ = sign_in_as(Role.AUDITOR)
    officer_opens_request(auditor, reference)
    expect(auditor.get_by_role("heading", name="Audit timeline")).to_be_visible()
    expect(auditor.get_by_role("button", name="Grant erasure")).to_have_count(0)

    officer, _ = sign_in_as(Role.OFFICER)
    officer.goto("/requests/dashboard/")
    expect(officer.locator("#fig-open")).to_have_text("1")
    expect(officer.locator("svg[role=img]").first).to_be_visible()
