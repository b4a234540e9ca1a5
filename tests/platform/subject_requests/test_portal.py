import re

import pytest
from django.test import Client

from erasure_platform.core.models import OutboxEvent
from erasure_platform.subject_requests.models import ErasureRequest
from tests.platform.subject_requests.conftest import last_code

pytestmark = pytest.mark.django_db
REASON = "The records are under a litigation hold until 2027."


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def file_on_portal(client, django_capture_on_commit_callbacks, **overrides):
    data = {"identifier": "ada@example.com", "scope_type": "all", "jurisdiction": "GDPR", **overrides}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/requests/new", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    token = re.search(r"/requests/s/([^/]+)/", response["Location"]).group(1)
    return token


def test_new_request_page_has_labelled_fields_and_csrf():
    client = Client(enforce_csrf_checks=True)
    page = client.get("/requests/new")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="csrfmiddlewaretoken"' in html
    for field in ("identifier", "record_ids", "jurisdiction", "contact_email", "message"):
        assert f'<label for="id_{field}"' in html
    assert client.post("/requests/new", {"identifier": "a@example.com", "jurisdiction": "GDPR"}).status_code == 403


def test_validation_messages_are_shown_as_an_alert():
    response = Client().post("/requests/new", {"identifier": "", "scope_type": "records", "jurisdiction": "GDPR"})
    html = response.content.decode()
    assert response.status_code == 400 and 'role="alert"' in html
    assert "Name at least one record id" in html and "This field is required" in html
    response = Client().post("/requests/new", {"identifier": "CUST-7", "scope_type": "all", "jurisdiction": "GDPR"})
    assert response.status_code == 400 and "give an e-mail address" in response.content.decode()
    assert ErasureRequest.objects.count() == 0


def test_owner_files_verifies_and_follows_status(django_capture_on_commit_callbacks):
    client = Client()
    token = file_on_portal(client, django_capture_on_commit_callbacks, scope_type="records", record_ids="r-1, r-2\nr-3")
    request = ErasureRequest.objects.get()
    assert request.record_ids == ["r-1", "r-2", "r-3"] and request.channel == "portal"
    page = client.get(f"/requests/s/{token}/")
    html = page.content.decode()
    assert page["Cache-Control"] == "no-store" and page["Referrer-Policy"] == "same-origin"
    assert request.reference in html and request.due_on.strftime("%B %Y") in html
    assert "confirm the identifier is yours" in html
    wrong = "000000" if last_code() != "000000" else "111111"
    response = client.post(f"/requests/s/{token}/verify", {"code": wrong})
    assert response.status_code == 400 and "4 attempts left" in response.content.decode()
    response = client.post(f"/requests/s/{token}/verify", {"code": last_code()})
    assert response.status_code == 302
    html = client.get(f"/requests/s/{token}/").content.decode()
    assert "Identity verified" in html and "Identifier confirmed as yours" in html
    # verified: the verify page sends the owner back to the status page
    assert client.get(f"/requests/s/{token}/verify").status_code == 302


def test_resend_from_the_portal_reports_the_limit(django_capture_on_commit_callbacks):
    client = Client()
    token = file_on_portal(client, django_capture_on_commit_callbacks)
    response = client.post(f"/requests/s/{token}/resend", follow=True)
    assert "wait" in response.content.decode()


def test_another_owners_link_is_not_found(django_capture_on_commit_callbacks):
    token = file_on_portal(Client(), django_capture_on_commit_callbacks)
    request = ErasureRequest.objects.get()
    for path in (
        f"/requests/s/{'x' * 43}/",
        f"/requests/s/{token[:-2]}/",
        f"/requests/s/{request.id}/",
        f"/requests/s/{request.reference}/",
        f"/requests/s/{'y' * 43}/verify",
    ):
        assert Client().get(path).status_code == 404, path


def test_staff_pages_need_a_staff_role(engineer, officer, auditor):
    anonymous = Client()
    for path in ("/requests/queue/", "/requests/dashboard/"):
        response = anonymous.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/")
        assert signed_in(engineer).get(path).status_code == 403
        assert signed_in(officer).get(path).status_code == 200
        assert signed_in(auditor).get(path).status_code == 200


def test_officer_reviews_in_the_portal(django_capture_on_commit_callbacks, officer):
    owner = Client()
    token = file_on_portal(owner, django_capture_on_commit_callbacks)
    owner.post(f"/requests/s/{token}/verify", {"code": last_code()})
    request = ErasureRequest.objects.get()
    staff = signed_in(officer)
    queue = staff.get("/requests/queue/").content.decode()
    assert request.reference in queue
    detail = staff.get(f"/requests/review/{request.id}/").content.decode()
    assert "request.submitted" in detail and "request.identity_verified" in detail and "Grant erasure" in detail
    # refused transitions show the reason and leave the request unchanged
    response = staff.post(f"/requests/review/{request.id}/extend", {"extension": "3", "reason": REASON})
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    response = staff.post(f"/requests/review/{request.id}/extend", {"extension": "2", "reason": REASON})
    assert response.status_code == 302
    response = staff.post(f"/requests/review/{request.id}/extend", {"extension": "1", "reason": REASON})
    assert response.status_code in (400, 409)
    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(f"/requests/review/{request.id}/grant", {"reason": ""}).status_code == 302
    assert OutboxEvent.objects.filter(topic="request.granted").count() == 1
    response = staff.post(f"/requests/review/{request.id}/grant", {})
    assert response.status_code == 409 and "only a verified request" in response.content.decode()
    owner_page = owner.get(f"/requests/s/{token}/").content.decode()
    assert "Granted" in owner_page and "We extended the deadline" in owner_page


def test_officer_refusal_is_shown_to_the_owner(django_capture_on_commit_callbacks, officer):
    owner = Client()
    token = file_on_portal(owner, django_capture_on_commit_callbacks, jurisdiction="CCPA")
    request = ErasureRequest.objects.get()
    staff = signed_in(officer)
    response = staff.post(f"/requests/review/{request.id}/refuse", {"ground": "gdpr_legal_claims", "reason": REASON})
    assert response.status_code == 400  # not a CCPA ground
    response = staff.post(f"/requests/review/{request.id}/refuse", {"ground": "ccpa_security", "reason": REASON})
    assert response.status_code == 302
    html = owner.get(f"/requests/s/{token}/").content.decode()
    assert "Why we refused" in html and REASON in html and "security incidents" in html
    assert (
        staff.post(f"/requests/review/{request.id}/reopen", {"reason": "The owner sent new evidence."}).status_code
        == 302
    )
    assert ErasureRequest.objects.get().status == "submitted"


def test_auditor_sees_no_action_forms_and_cannot_post(django_capture_on_commit_callbacks, auditor):
    file_on_portal(Client(), django_capture_on_commit_callbacks)
    request = ErasureRequest.objects.get()
    client = signed_in(auditor)
    html = client.get(f"/requests/review/{request.id}/").content.decode()
    assert "Audit timeline" in html and "Grant erasure" not in html and "Refuse</button>" not in html
    assert (
        client.post(
            f"/requests/review/{request.id}/refuse", {"ground": "identity_not_verified", "reason": REASON}
        ).status_code
        == 403
    )
    assert ErasureRequest.objects.get().status == "submitted"


def test_staff_actions_need_csrf(django_capture_on_commit_callbacks, officer):
    file_on_portal(Client(), django_capture_on_commit_callbacks)
    request = ErasureRequest.objects.get()
    client = Client(enforce_csrf_checks=True)
    client.force_login(officer)
    assert (
        client.post(
            f"/requests/review/{request.id}/refuse", {"ground": "identity_not_verified", "reason": REASON}
        ).status_code
        == 403
    )
    assert ErasureRequest.objects.get().status == "submitted"


def test_dashboard_renders_figures_and_charts(django_capture_on_commit_callbacks, officer):
    file_on_portal(Client(), django_capture_on_commit_callbacks)
    html = signed_in(officer).get("/requests/dashboard/").content.decode()
    assert '<svg xmlns="http://www.w3.org/2000/svg" role="img"' in html
    assert 'id="fig-open">1<' in html and 'id="fig-overdue">0<' in html


def test_action_forms_have_unique_element_ids(django_capture_on_commit_callbacks, officer):
    owner = Client()
    token = file_on_portal(owner, django_capture_on_commit_callbacks)
    owner.post(f"/requests/s/{token}/verify", {"code": last_code()})
    request = ErasureRequest.objects.get()
    html = signed_in(officer).get(f"/requests/review/{request.id}/").content.decode()
    ids = re.findall(r'\sid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    assert 'for="refuse_reason"' in html and 'for="extend_reason"' in html


def test_failed_officer_action_shows_its_error_inside_that_form_with_focus(django_capture_on_commit_callbacks, officer):
    file_on_portal(Client(), django_capture_on_commit_callbacks, jurisdiction="CCPA")
    request = ErasureRequest.objects.get()
    staff = signed_in(officer)
    page = staff.get(f"/requests/review/{request.id}/").content.decode()
    assert f'action="/requests/review/{request.id}/refuse#refuse"' in page
    assert 'value="refuse" class="danger"' in page  # a refusal does not look like a grant
    response = staff.post(f"/requests/review/{request.id}/refuse", {"ground": "gdpr_legal_claims", "reason": REASON})
    html = response.content.decode()
    assert response.status_code == 400
    refuse_form = html[html.index('id="refuse"') :]
    refuse_form = refuse_form[: refuse_form.index("</form>")]
    assert 'role="alert"' in refuse_form and "data-focus-on-load" in refuse_form
    assert html.count("data-focus-on-load") == 1
    assert "portal/site.js" in html
