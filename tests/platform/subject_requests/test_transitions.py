"""The request's state machine walked edge by edge: for every status and every action of the
transitions table, the service takes the edge exactly when the table allows it (landing in one of
its targets) and refuses it otherwise, leaving the request as it was; and the officer's page
offers exactly the table's officer actions."""

from __future__ import annotations

import pytest

from erasure_platform.core.errors import Conflict
from erasure_platform.subject_requests.models import ErasureRequest, RequestStatus
from erasure_platform.subject_requests.selectors import request_available_actions
from erasure_platform.subject_requests.services import request_grant, request_verify_identity
from erasure_platform.subject_requests.services.review import request_complete, request_refuse, request_reopen
from erasure_platform.subject_requests.transitions import OFFICER_ACTIONS, REQUEST_TRANSITIONS
from tests.platform.subject_requests.conftest import last_code

pytestmark = pytest.mark.django_db


def take(action: str, request: ErasureRequest, officer) -> ErasureRequest | None:
    if action == "grant":
        return request_grant(erasure_request=request, officer=officer, reason="identity proven")
    if action == "refuse":
        return request_refuse(
            erasure_request=request, officer=officer, ground="gdpr_legal_obligation", reason="kept by law for audits"
        )
    if action == "reopen":
        return request_reopen(erasure_request=request, officer=officer, reason="the owner sent new evidence")
    if action == "complete":
        request_complete(payload={"request_id": str(request.id), "datasets": [], "models": []})
        return ErasureRequest.objects.get(pk=request.pk)
    raise AssertionError(action)


@pytest.mark.parametrize("action", sorted(set(REQUEST_TRANSITIONS) - {"verify_identity"}))
@pytest.mark.parametrize("status", [status.value for status in RequestStatus])
def test_each_edge_is_taken_exactly_when_the_table_allows_it(action, status, verified_request, officer):
    request, _ = verified_request()
    ErasureRequest.objects.filter(pk=request.pk).update(status=status)
    request.refresh_from_db()
    transition = REQUEST_TRANSITIONS[action]
    if status in transition.sources:
        after = take(action, request, officer)
        assert after.status in transition.targets
    elif action == "complete":  # a late completion is recorded and ignored, never applied
        assert take(action, request, officer).status == status
    else:
        with pytest.raises(Conflict):
            take(action, request, officer)
        assert ErasureRequest.objects.get(pk=request.pk).status == status


@pytest.mark.parametrize("status", [status.value for status in RequestStatus])
def test_the_officer_is_offered_exactly_the_tables_actions(status, verified_request):
    request, _ = verified_request()
    ErasureRequest.objects.filter(pk=request.pk).update(status=status)
    request.refresh_from_db()
    offered = request_available_actions(erasure_request=request, clock={"can_extend": False})
    assert offered == {action for action in OFFICER_ACTIONS if status in REQUEST_TRANSITIONS[action].sources}


def test_verifying_an_identity_is_the_owners_edge_from_submitted_only(file_request):
    for status in RequestStatus:
        request, _ = file_request(identifier=f"p-{status.value}@example.com")
        ErasureRequest.objects.filter(pk=request.pk).update(status=status.value)
        request.refresh_from_db()
        if status in REQUEST_TRANSITIONS["verify_identity"].sources:
            after = request_verify_identity(erasure_request=request, code=last_code(f"p-{status.value}@example.com"))
            assert after.status in REQUEST_TRANSITIONS["verify_identity"].targets
        else:
            with pytest.raises(Conflict):
                request_verify_identity(erasure_request=request, code="000000")
