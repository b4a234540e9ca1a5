"""The portal's "Start unlearning now" action (orchestration/views.py) on its refusal paths; the
path that starts a job is driven in the browser by tests/e2e/test_ml_journeys.py."""

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from erasure_platform.core.models import Job
from erasure_platform.registry.models import Model
from tests.platform.registry.helpers import PASSWORD, users

pytestmark = pytest.mark.django_db


def signed_in(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_nothing_pending_is_said_beside_the_model_and_starts_no_job():
    users()
    model = Model.objects.create(name="idle-model", kind="classifier", created_by="test")
    response = signed_in("engineer").post(f"/ml/models/{model.name}/unlearn-now")
    assert response.status_code == 302 and response.url == f"/ml/models/{model.name}/"
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert any("nothing to unlearn" in message for message in messages), messages
    assert not Job.objects.exists()


def test_only_engineers_may_start_and_unknown_models_are_not_found():
    users()
    model = Model.objects.create(name="guarded-model", kind="classifier", created_by="test")
    refused = signed_in("approver").post(f"/ml/models/{model.name}/unlearn-now")
    messages = [str(message) for message in get_messages(refused.wsgi_request)]
    assert any("only an ML engineer" in message for message in messages), messages
    assert signed_in("engineer").post("/ml/models/no-such-model/unlearn-now").status_code == 404
    assert signed_in("engineer").get(f"/ml/models/{model.name}/unlearn-now").status_code == 405
    assert not Job.objects.exists()
