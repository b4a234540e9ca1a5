"""Identity maps: a person keyed by customer id in one dataset and by e-mail in another is found
and erased through the map from one e-mail request; the map's own entries for them go too."""

from __future__ import annotations

import json
import uuid

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from erasure_engine.datasets import DatasetStore
from erasure_platform.core.models import AuditEvent, Job
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.registry import selectors
from erasure_platform.registry.models import IdentityLink, IdentityMap
from erasure_platform.registry.services.datasets import dataset_register
from erasure_platform.subject_requests.services.intake import request_subject_key
from tests.platform.orchestration.helpers import grant_request_for
from tests.platform.registry.helpers import users

pytestmark = pytest.mark.django_db
MAP_SPEC = {"identities": [{"column": "email", "kind": "email"}, {"column": "customer_id", "kind": "customer_id"}]}
TICKETS_SPEC = {"subject": {"column": "email", "kind": "email"}, "record_id": {"column": "ticket_id"}, "text": "{body}"}
ORDERS_SPEC = {
    "subject": {"column": "customer_id", "kind": "customer_id"},
    "record_id": {"column": "order_id"},
    "features": ["items", "total"],
    "label": "returned",
}


def run(api, url: str, body: dict) -> Job:
    response = api.post(url, body, format="json")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"])
    job_execute(job_id=job.pk, worker="t")
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


@pytest.fixture
def team_files(tmp_path, settings):
    settings.ERASURE_DATASET_IMPORT_ROOTS = [str(tmp_path)]
    (tmp_path / "tickets.csv").write_text(
        "ticket_id,email,body\nT-1,ada@example.org,Cannot log in\nT-2,bruno@example.org,Invoice wrong\n"
        "T-3,ada@example.org,Still cannot log in\n"
    )
    (tmp_path / "orders.csv").write_text(
        "order_id,customer_id,items,total,returned\nO-1,C-100,2,40.5,0\nO-2,C-200,1,9.9,1\nO-3,C-100,5,120,1\n"
        "O-4,C-101,1,5,0\n"
    )
    # Ada has two customer accounts; Bruno's e-mail is linked to C-200.
    (tmp_path / "customers.csv").write_text(
        "customer_id,email,name\nC-100,ada@example.org,Ada\nC-101,ada@example.org,Ada\nC-200,bruno@example.org,Bruno\n"
    )
    return tmp_path


def test_one_email_request_erases_a_person_keyed_by_customer_id_elsewhere(
    team_files, django_capture_on_commit_callbacks
):
    people = users()
    api = APIClient()
    api.force_authenticate(people["engineer"])
    tickets = dataset_register(name=f"tickets-{uuid.uuid4().hex[:6]}", actor="engineer").name
    orders = dataset_register(name=f"orders-{uuid.uuid4().hex[:6]}", actor="engineer").name
    run(
        api,
        f"/api/ml/datasets/{tickets}/imports",
        {"source": {"location": str(team_files / "tickets.csv")}, "spec": TICKETS_SPEC},
    )
    run(
        api,
        f"/api/ml/datasets/{orders}/imports",
        {"source": {"location": str(team_files / "orders.csv")}, "spec": ORDERS_SPEC},
    )
    map_name = f"customers-{uuid.uuid4().hex[:6]}"
    job = run(
        api,
        f"/api/ml/identity-maps/{map_name}/imports",
        {"source": {"location": str(team_files / "customers.csv")}, "spec": MAP_SPEC},
    )
    assert job.result["links"] == 4 and job.result["people"] == 2  # Ada: e-mail, C-100, C-101 (3 pairs); Bruno: 1
    identity_map = IdentityMap.objects.get(name=map_name)
    assert identity_map.link_count == 4 and IdentityLink.objects.filter(identity_map=identity_map).count() == 8
    assert "ada@example.org" not in json.dumps(list(IdentityLink.objects.values_list("subject_key", "linked_key")))
    listed = api.get("/api/ml/identity-maps").json()
    assert [(m["name"], m["link_count"]) for m in listed] == [(map_name, 4)]

    ada = request_subject_key("ada@example.org")
    lineage = selectors.lineage_for_subject(subject_key=ada)
    found = {entry["dataset_version"].dataset.name: entry["record_ids"] for entry in lineage.dataset_versions}
    assert found == {tickets: ["T-1", "T-3"], orders: ["O-1", "O-3", "O-4"]}

    plan = grant_request_for("ada@example.org", people["officer"], django_capture_on_commit_callbacks)
    assert sorted(plan.subject_keys) == sorted([ada, request_subject_key("C-100"), request_subject_key("C-101")])
    removed = {entry["dataset"]: sorted(r["record_id"] for r in entry["removed"]) for entry in plan.datasets}
    assert removed == {tickets: ["T-1", "T-3"], orders: ["O-1", "O-3", "O-4"]}
    store = platform_object_store()
    assert sorted(DatasetStore(store, orders).latest().record_ids()) == ["O-2"]
    assert sorted(DatasetStore(store, tickets).latest().record_ids()) == ["T-2"]
    # The map's entries for Ada are gone; Bruno's stay.
    identity_map.refresh_from_db()
    assert identity_map.link_count == 1
    remaining = set(IdentityLink.objects.values_list("subject_key", "linked_key"))
    assert remaining == {
        (request_subject_key("bruno@example.org"), request_subject_key("C-200")),
        (request_subject_key("C-200"), request_subject_key("bruno@example.org")),
    }
    erased = AuditEvent.objects.get(action="identity_map.entries_erased")
    assert erased.data == {"request_id": plan.request_id, "links_removed": 3}
    created = AuditEvent.objects.get(action="erasure_plan.created", entity_id=str(plan.pk))
    assert created.data["linked_keys"] == 2


def test_a_refused_map_import_changes_nothing_and_the_command_replaces_links(team_files, capsys):
    spec = team_files / "map.json"
    spec.write_text(json.dumps(MAP_SPEC))
    name = f"customers-{uuid.uuid4().hex[:6]}"
    call_command(
        "identity_map_import", "--map", name, "--source", str(team_files / "customers.csv"), "--spec", str(spec)
    )
    assert json.loads(capsys.readouterr().out)["links"] == 4
    broken = team_files / "broken.csv"
    broken.write_text("customer_id,email\nC-1,ada@example.org\nC-2,\n")
    with pytest.raises(SystemExit) as exited:
        call_command("identity_map_import", "--map", name, "--source", str(broken), "--spec", str(spec))
    assert exited.value.code == 1
    report = json.loads(capsys.readouterr().out)
    assert report["refused"] == [
        {"file": str(broken), "row": 2, "column": None, "reason": report["refused"][0]["reason"]}
    ]
    assert IdentityMap.objects.get(name=name).link_count == 4  # unchanged
    call_command("identity_map_import", "--map", name, "--source", str(broken), "--spec", str(spec), "--skip-invalid")
    assert IdentityMap.objects.get(name=name).link_count == 1
    assert IdentityLink.objects.filter(identity_map__name=name).count() == 2
