"""Schemathesis against the served OpenAPI schema (/api/schema/), through the Django WSGI app.

Every operation is fuzzed (schema examples, coverage cases at the boundaries, random valid and
invalid inputs) as a staff user holding every staff role, authenticated with a DRF token, so the
protected endpoints run their real code paths. A few objects exist first (a model, a dataset, a
verified request, a job, a report) and their ids are mixed into the path parameters, so operations
also reach their found-object branches, not only 404 (owner-endpoint throttles are off here). Checks: no 5xx, and every response conforms
to the schema (documented status code, content type, body schema, headers)."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
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
]
CONFIG = {
    "generation": {"max-examples": 40, "database": "none", "with-security-parameters": False},
    # The stateful walk (the schema's links: request -> status -> certificate -> verification) runs
    # in test_owner_links_are_walked_statefully; here each operation on its own.
    "phases": {"stateful": {"enabled": False}},
    "seed": 20260601,
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


@schema.parametrize()
@hypothesis.settings(
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)
@schema.given(pick=hypothesis.strategies.integers(min_value=0, max_value=3))
def test_api_conforms_to_its_schema(case, pick, seeded):
    # Half the time, point path parameters at objects that exist (the rest stay as generated).
    for name, _value in list((case.path_parameters or {}).items()):
        known = seeded["values"].get(name)
        if known and pick % 2 == 0:
            case.path_parameters[name] = known[pick // 2 % len(known)]
    case.call_and_validate(headers={"Authorization": f"Token {seeded['token']}"}, checks=CHECKS)


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
