"""Lineage in the portal by request reference or identifier: keyed on the server, never echoed."""

import pytest
from django.test import Client

from erasure_platform.subject_requests.services import request_create
from tests.platform.registry.helpers import PASSWORD, World, users

pytestmark = pytest.mark.django_db


@pytest.fixture
def world_and_people():
    return World(train=False, subjects=4), users()


def signed_in(username):
    client = Client()
    assert client.login(username=username, password=PASSWORD)
    return client


def test_engineer_finds_lineage_by_request_reference(world_and_people, django_capture_on_commit_callbacks):
    world, _ = world_and_people
    with django_capture_on_commit_callbacks(execute=True):
        request, _ = request_create(identifier=world.subjects[1].identifier, jurisdiction="GDPR", channel="portal")
    html = signed_in("engineer").get("/ml/lineage/", {"q": request.reference.lower()}).content.decode()
    assert f'id="lineage-reference">{request.reference}<' in html
    assert str(world.version) in html and "Holds data" in html
    assert world.subjects[1].identifier not in html and world.key(1) not in html


def test_identifier_lookup_is_keyed_and_not_shown_back(world_and_people):
    world, _ = world_and_people
    identifier = world.subjects[2].identifier
    html = signed_in("officer").get("/ml/lineage/", {"q": identifier.upper()}).content.decode()
    assert str(world.version) in html and "Holds data" in html
    assert identifier not in html and identifier.upper() not in html and world.key(2) not in html
    stranger = signed_in("officer").get("/ml/lineage/", {"q": "nobody@example.com"}).content.decode()
    assert "No dataset version holds records of this person" in stranger


def test_subject_key_lookup_and_clear_errors(world_and_people):
    world, _ = world_and_people
    client = signed_in("auditor")
    assert str(world.version) in client.get("/ml/lineage/", {"q": world.key(0)}).content.decode()
    missing = client.get("/ml/lineage/", {"q": "ER-AAAA-2222"}).content.decode()
    assert "no request ER-AAAA-2222" in missing and 'id="lineage-result"' not in missing
    assert "at most 254" in client.get("/ml/lineage/", {"q": "x" * 300}).content.decode()


def test_owners_without_a_role_cannot_look_up_lineage(world_and_people):
    response = Client().get("/ml/lineage/", {"q": "ada@example.com"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
