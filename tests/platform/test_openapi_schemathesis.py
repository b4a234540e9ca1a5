"""Schemathesis against the served OpenAPI schema (/api/schema/), through the Django WSGI app.

Every operation is fuzzed (schema examples, coverage cases at the boundaries, random valid and
invalid inputs) as a staff user holding every staff role, authenticated with a DRF token, so the
protected endpoints run their real code paths; then again, with fewer examples, as a user holding
one role only and as an anonymous caller, so the refusals (403 for a missing role, 401 with
WWW-Authenticate without credentials) are exercised, and each caller's run must have met them.
A few objects exist first (a model, a dataset, a verified request, a job, a report) and their ids
are mixed into the path parameters, so operations also reach their found-object branches, not
only 404 (owner-endpoint throttles are off here). Checks: no 5xx, and every response conforms to
the schema (documented status code, content type, body schema, headers)."""

from __future__ import annotations

from collections import defaultdict

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import (
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)
from schemathesis.config import SchemathesisConfig

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.services import user_create
from erasure_platform.core.services.jobs import job_create
from erasure_platform.evidence.services.reports import report_request
from erasure_platform.orchestration.models import BatchStatus, UnlearningBatch
from erasure_platform.registry.services.datasets import dataset_register
from erasure_platform.registry.services.models import model_register
from erasure_platform.subject_requests.models import Channel
from erasure_platform.subject_requests.services.intake import request_create
from erasure_platform.wsgi import application
from tests.platform.registry.helpers import fake_version, make_production

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
    missing_required_header,
    unsupported_method,
    ignored_auth,
    use_after_free,
    ensure_resource_availability,
]
CONFIG = {
    "generation": {"max-examples": 40, "database": "none", "with-security-parameters": False},
    # The stateful walk (the schema's links: request -> status -> certificate -> verification) runs
    # in test_owner_links_are_walked_statefully; here each operation on its own.
    "phases": {"stateful": {"enabled": False}},
    "seed": 20260601,
}
# Per caller (each role alone, anonymous): fewer examples per operation, the refusals are cheap.
CALLER_CONFIG = {**CONFIG, "generation": {**CONFIG["generation"], "max-examples": 8}}
ANONYMOUS = "anonymous"

# Who may call each operation not open to every staff role (the rest of the staff operations are):
# the per-caller run must have seen each refused with 403 for every other role.
ROLES_BY_OPERATION = {
    **dict.fromkeys(
        [
            "POST /api/ml/datasets/register",
            "POST /api/ml/datasets/{name}/versions/register",
            "POST /api/ml/datasets/{name}/imports",
            "POST /api/ml/datasets/{name}/imports/preview",
            "POST /api/ml/identity-maps/{name}/imports",
            "POST /api/ml/models/register",
            "POST /api/ml/models/{name}/versions/import",
            "POST /api/ml/models/{name}/train",
            "POST /api/ml/models/{name}/unlearn-now",
        ],
        {Role.ML_ENGINEER},
    ),
    **dict.fromkeys(
        [
            "POST /api/ml/versions/{id}/approve",
            "POST /api/ml/versions/{id}/reject",
            "POST /api/ml/models/{name}/rollback",
        ],
        {Role.RELEASE_APPROVER},
    ),
    **dict.fromkeys(
        [
            "POST /api/ml/requests/{request_id}/skip-model",
            "POST /api/requests/{request_id}/grant",
            "POST /api/requests/{request_id}/refuse",
            "POST /api/requests/{request_id}/extend",
            "POST /api/requests/{request_id}/reopen",
            "POST /api/requests/{request_id}/purge-contact",
        ],
        {Role.OFFICER},
    ),
    **dict.fromkeys(
        [
            "GET /api/requests/queue",
            "GET /api/requests/dashboard",
            "GET /api/requests/records",
            "GET /api/requests/{request_id}",
            "POST /api/audit/verify",
            "POST /api/reports",
            "GET /api/reports/{report_id}",
        ],
        {Role.OFFICER, Role.AUDITOR},
    ),
}


@pytest.fixture
def seeded(db, settings):
    """Objects the fuzzed requests may find: returns their ids by path-parameter name."""
    from django.core.cache import cache
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Owner-endpoint throttles off (and no history left by other tests), so fuzzing reaches their logic.
    settings.ERASURE_INTAKE_THROTTLE_RATE = None
    settings.ERASURE_VERIFY_THROTTLE_RATE = None
    cache.clear()
    staff = user_create(username="fuzzer", password="fuzz-pass-2026-long", roles=list(Role))
    token = Token.objects.create(user=staff)
    model = model_register(name="fuzz-model", kind="classifier", actor="fuzzer")
    dataset = dataset_register(name="fuzz-data", actor="fuzzer")
    parent = make_production(model, fake_version(model, created_by="engineer"))
    now = timezone.now()
    batch = UnlearningBatch.objects.create(
        model=model, opens_at=now, closes_at=now, started_by="engineer", status=BatchStatus.AWAITING_APPROVAL
    )
    candidate = fake_version(
        model, batch=batch, parent=parent, verdict={"passed": True, "failed_metrics": [], "metrics": []}
    )
    request, owner_token = request_create(identifier="fuzz@example.com", jurisdiction="GDPR", channel=Channel.API)
    job = job_create(
        kind="orchestration.unlearn", params={"batch_id": "00000000-0000-0000-0000-000000000000"}, actor="fuzzer"
    )
    report = report_request(actor="user:fuzzer", request_reference=request.reference)
    return {
        "token": token.key,
        "values": {
            "name": [model.name, dataset.name],
            "request_id": [str(request.id)],
            "token": [owner_token],
            "id": [str(job.id), str(candidate.id)],
            "report_id": [str(report.id)],
        },
    }


@pytest.fixture
def wsgi_app():
    """The project's WSGI app, kept inside the test's transaction: like Django's test client, stop
    the end-of-request hook from closing the database connection (it holds the test transaction)."""
    from django.core import signals
    from django.db import close_old_connections

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def api_schema(seeded, wsgi_app):
    config = SchemathesisConfig.from_dict(CONFIG)
    config.projects.default.update(headers={"Authorization": f"Token {seeded['token']}"})
    return schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")
FUZZ_SETTINGS = hypothesis.settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)


@schema.parametrize()
@FUZZ_SETTINGS
@schema.given(pick=hypothesis.strategies.integers(min_value=0, max_value=3))
def test_api_conforms_to_its_schema(case, pick, seeded):
    point_at_known_objects(case, pick, seeded["values"])
    case.call_and_validate(headers={"Authorization": f"Token {seeded['token']}"}, checks=CHECKS)


@pytest.fixture(params=[*Role, ANONYMOUS], ids=str)
def caller(request, seeded):
    """A user holding one role only (or nobody: no credentials), and the statuses each operation
    answered it."""
    from rest_framework.authtoken.models import Token

    headers = {}
    if request.param != ANONYMOUS:
        user = user_create(username=f"fuzz-{request.param}", password="fuzz-pass-2026-long", roles=[request.param])
        headers = {"Authorization": f"Token {Token.objects.create(user=user).key}"}
    return {"role": request.param, "headers": headers, "statuses": defaultdict(set)}


@pytest.fixture
def caller_schema(caller, wsgi_app):
    config = SchemathesisConfig.from_dict(CALLER_CONFIG)
    if caller["headers"]:
        config.projects.default.update(headers=caller["headers"])
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, config=config)
    yield schema
    # After every operation ran: the refusals this caller is owed were met, so the run exercised them.
    missed = refusals_missed(schema.raw_schema, caller["role"], caller["statuses"])
    assert not missed, f"{caller['role']}: {missed}"


def refusals_missed(raw_schema: dict, role: str, statuses: dict[str, set[int]]) -> list[str]:
    """Anonymous: every operation needing credentials answered 401 at least once. A role: every
    operation restricted to other roles answered 403 at least once, every other staff operation
    admitted it (answered something else than 401/403) at least once."""
    missed = []
    labels = set()
    for path, item in raw_schema["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue  # path-level parameters, not an operation
            label = f"{method.upper()} {path}"
            labels.add(label)
            security = operation.get("security")
            if not security or {} in security:
                continue  # anonymous operations (the owner's, the public log)
            seen = statuses.get(label, set())
            if role == ANONYMOUS:
                if 401 not in seen:
                    missed.append(f"{label} never answered 401 without credentials: {sorted(seen)}")
            elif role not in ROLES_BY_OPERATION.get(label, set(Role)):
                if 403 not in seen:
                    missed.append(f"{label} never refused the role with 403: {sorted(seen)}")
            elif not seen - {401, 403}:
                missed.append(f"{label} never admitted the role: {sorted(seen)}")
    missed.extend(f"{label} is not in the schema" for label in ROLES_BY_OPERATION.keys() - labels)
    return missed


per_caller = schemathesis.pytest.from_fixture("caller_schema")


@per_caller.parametrize()
@FUZZ_SETTINGS
@per_caller.given(pick=hypothesis.strategies.integers(min_value=0, max_value=3))
def test_api_conforms_to_its_schema_for_each_role_and_anonymously(case, pick, seeded, caller):
    point_at_known_objects(case, pick, seeded["values"])
    response = case.call(headers=caller["headers"])
    caller["statuses"][case.operation.label].add(response.status_code)
    case.validate_response(response, checks=CHECKS, transport_kwargs={"headers": caller["headers"]})


def point_at_known_objects(case, pick: int, values: dict[str, list[str]]) -> None:
    """Half the time, point path parameters at objects that exist (the rest stay as generated)."""
    for name, _value in list((case.path_parameters or {}).items()):
        known = values.get(name)
        if known and pick % 2 == 0:
            case.path_parameters[name] = known[pick // 2 % len(known)]


def test_owner_links_are_walked_statefully(seeded, wsgi_app):
    """Schemathesis' stateful phase follows the schema's OpenAPI links: a request filed, then its
    status, verification, new codes and certificate reached with the token the first answer gave."""
    config = SchemathesisConfig.from_dict({**CONFIG, "phases": {"stateful": {"enabled": True}}})
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app, config=config)
    # The owner's operations only: the staff ones are covered one by one above.
    base = schema.include(path_regex=r"^/api/(requests$|owner/|certificates/verify$)").as_state_machine()
    walked: set[str] = set()

    class OwnerJourney(base):
        def get_call_kwargs(self, case):
            return {"headers": {"Authorization": f"Token {seeded['token']}"}}

        def after_call(self, response, case):
            super().after_call(response, case)
            walked.add(case.operation.label)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    OwnerJourney.run(
        settings=hypothesis.settings(
            max_examples=25,
            deadline=None,
            database=None,
            stateful_step_count=4,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.filter_too_much,
                HealthCheck.function_scoped_fixture,
            ],
        )
    )
    assert {"POST /api/requests", "GET /api/owner/requests/{token}"} <= walked, walked
