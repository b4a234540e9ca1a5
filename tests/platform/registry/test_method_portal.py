"""Engineers choose a model's approximate unlearning method and its parameters in the portal."""

import pytest
from django.test import Client

from erasure_engine.unlearning import get_method
from erasure_platform.core.models import AuditEvent
from erasure_platform.registry.models import Model
from tests.platform.registry.helpers import PASSWORD, users

pytestmark = pytest.mark.django_db


@pytest.fixture
def model():
    users()
    return Model.objects.create(name="method-model", kind="classifier", created_by="test")


def signed_in(username):
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_engineer_switches_method_and_sees_its_parameters_with_defaults(model):
    client = signed_in("engineer")
    page = client.get(f"/ml/models/{model.name}/").content.decode()
    assert f'href="/ml/models/{model.name}/method"' in page and 'id="approximate-method">Gradient difference<' in page
    form = client.get(f"/ml/models/{model.name}/method", {"method": "npo"}).content.decode()
    npo = get_method("npo")
    for param in npo.params:
        assert f'name="param_{param.name}"' in form
    assert 'hx-get="/ml/models/method-model/method"' in form
    data = {"method": "npo", **{f"param_{p.name}": p.default for p in npo.params if p.type is not bool}}
    data["param_steps"] = 7
    response = client.post(f"/ml/models/{model.name}/method", data)
    assert response.status_code == 302
    model.refresh_from_db()
    assert model.approximate_method == "npo" and model.approximate_params["steps"] == 7
    assert AuditEvent.objects.filter(action="model.settings_changed", actor="engineer").exists()


def test_out_of_bounds_parameter_is_refused_beside_the_field(model):
    client = signed_in("engineer")
    data = {"method": "npo", **{f"param_{p.name}": p.default for p in get_method("npo").params if p.type is not bool}}
    data["param_steps"] = 0
    response = client.post(f"/ml/models/{model.name}/method", data)
    assert response.status_code == 400 and 'role="alert"' in response.content.decode()
    model.refresh_from_db()
    assert model.approximate_method == "gradient_difference"


def test_only_engineers_choose_the_method(model):
    for username in ("approver", "officer", "auditor"):
        assert signed_in(username).get(f"/ml/models/{model.name}/method").status_code == 403
