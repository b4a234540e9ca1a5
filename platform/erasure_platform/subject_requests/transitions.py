"""The erasure request's state machine, as data: which action may move a request from which status
to which. The services' guards, the officer's available actions (selectors) and the test that
walks every edge (tests/platform/subject_requests/test_transitions.py) all read this one table.

Extending a deadline changes no status (it is allowed while the request is open and not yet
extended: the SLA clock decides), so it is not an edge here."""

from __future__ import annotations

from dataclasses import dataclass

from erasure_platform.subject_requests.models import RequestStatus

S = RequestStatus


@dataclass(frozen=True)
class Transition:
    sources: tuple[RequestStatus, ...]
    targets: tuple[RequestStatus, ...]  # more than one: the service chooses (reopen: verified or not)
    by: str  # who takes it: "owner", "officer" or "system"


REQUEST_TRANSITIONS: dict[str, Transition] = {
    # The owner proves the identifier; a request for an identifier already under way joins it.
    "verify_identity": Transition((S.SUBMITTED,), (S.VERIFIED, S.DUPLICATE), by="owner"),
    "grant": Transition((S.VERIFIED,), (S.GRANTED,), by="officer"),
    "refuse": Transition((S.SUBMITTED, S.VERIFIED), (S.REFUSED,), by="officer"),
    # Back to review, or to identity verification when the identifier was never proven.
    "reopen": Transition((S.REFUSED, S.COMPLETED), (S.VERIFIED, S.SUBMITTED), by="officer"),
    # Orchestration's completion record closes a granted request.
    "complete": Transition((S.GRANTED,), (S.COMPLETED,), by="system"),
}
OFFICER_ACTIONS = tuple(name for name, transition in REQUEST_TRANSITIONS.items() if transition.by == "officer")


def request_transition_allowed(action: str, status: str) -> bool:
    """Whether `action` may start from `status` (an unknown action never may)."""
    transition = REQUEST_TRANSITIONS.get(action)
    return transition is not None and status in transition.sources
