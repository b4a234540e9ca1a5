"""Bring your own data through the platform: a CSV, a Parquet prefix on S3 and a table in the team's
PostgreSQL imported through the API's job (and the operator's command); a request for a person in
them is granted and erases them everywhere — the platform's copy, lineage and the source rows —
with the audit record of what changed. Bad input is refused with nothing written."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from erasure_engine.datasets import DatasetStore
from erasure_platform.core.models import AuditEvent, Job
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.jobs import job_execute
from erasure_platform.registry import selectors
from erasure_platform.registry.models import Dataset, DatasetVersion, SubjectRecord
from erasure_platform.registry.services.dataset_imports import dataset_source_erase
from erasure_platform.registry.services.datasets import dataset_register
from erasure_platform.subject_requests.services.intake import request_subject_key
from tests.platform.orchestration.helpers import grant_request_for
from tests.platform.registry.helpers import PASSWORD, users

pytestmark = pytest.mark.django_db
EXAMPLES = Path(__file__).resolve().parents[3] / "docs" / "examples"
SPEC = json.loads((EXAMPLES / "support-tickets.spec.json").read_text())
PERSON = "ada.moreau@example.org"  # two tickets in the example CSV


@pytest.fixture
def engineer_api():
    people = users()
    api = APIClient()
    api.force_authenticate(people["engineer"])
    return api, people


def start_import(api, dataset: str, body: dict) -> Job:
    response = api.post(f"/api/ml/datasets/{dataset}/imports", body, format="json")
    assert response.status_code == 202, response.content
    job = Job.objects.get(pk=response.json()["job"])
    job_execute(job_id=job.pk, worker="t")
    job.refresh_from_db()
    return job


def new_dataset(prefix: str) -> str:
    """A registered dataset of a name no earlier test used (the object store outlives each test's database)."""
    return dataset_register(name=f"{prefix}-{uuid.uuid4().hex[:8]}", actor="engineer").name


def store_bytes(dataset: str) -> bytes:
    store = platform_object_store()
    return b"".join(store.get_bytes(key) for key in store.list_keys(f"{dataset}/"))


def test_the_example_csv_imports_through_the_api_and_a_granted_request_erases_it(
    settings, engineer_api, django_capture_on_commit_callbacks
):
    api, people = engineer_api
    name = new_dataset("tickets")
    job = start_import(
        api, name, {"source": {"location": str(EXAMPLES / "support-tickets.csv")}, "spec": SPEC, "shards": 2}
    )
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert (job.result["records"], job.result["subjects"], job.result["skipped_rows"]) == (6, 4, 0)
    version = DatasetVersion.objects.get(pk=job.result["dataset_version"])
    assert (version.version_id, version.record_count, version.shards) == ("v0001", 6, 2)
    imported = AuditEvent.objects.get(action="dataset.imported", entity_id=str(version.pk))
    assert imported.data["records"] == 6 and imported.data["source"]["kind"] == "files"
    assert PERSON.encode() not in store_bytes(name)

    key = request_subject_key(PERSON)
    lineage = selectors.lineage_for_subject(subject_key=key)
    assert [entry["record_ids"] for entry in lineage.dataset_versions] == [["T-1001", "T-1003"]]

    plan = grant_request_for(PERSON, people["officer"], django_capture_on_commit_callbacks)
    (entry,) = plan.datasets
    assert sorted(r["record_id"] for r in entry["removed"]) == ["T-1001", "T-1003"]
    assert entry["source"]["action"] == "none" and entry["source"]["files"] == [str(EXAMPLES / "support-tickets.csv")]
    latest = DatasetStore(platform_object_store(), name).latest()
    assert sorted(latest.record_ids()) == ["T-1002", "T-1004", "T-1005", "T-1006"]
    assert b"Since Monday the app says my password" not in store_bytes(name)
    assert not any(entry["holds_data"] for entry in selectors.lineage_for_subject(subject_key=key).dataset_versions)
    noted = AuditEvent.objects.get(action="dataset_source.erased")
    assert noted.data["kind"] == "files" and "team's to rewrite" in noted.data["note"]


def test_a_parquet_prefix_on_s3_imports_through_the_job(settings, engineer_api, s3_endpoint, s3_client, s3_bucket):
    api, _ = engineer_api
    settings.OBJECT_STORE_ENDPOINT_URL = s3_endpoint
    settings.ERASURE_DATASET_IMPORT_ROOTS = [f"s3://{s3_bucket}/lake"]
    for part in range(2):
        sink = pa.BufferOutputStream()
        pq.write_table(
            pa.table(
                {
                    "customer_id": [f"C-{part}{i}" for i in range(5)],
                    "age": [30 + i for i in range(5)],
                    "balance": [100.0 * i for i in range(5)],
                    "churned": [i % 2 == 0 for i in range(5)],
                }
            ),
            sink,
        )
        s3_client.put_object(Bucket=s3_bucket, Key=f"lake/churn/{part}.parquet", Body=sink.getvalue().to_pybytes())
    name = new_dataset("churn")
    spec = {
        "subject": {"column": "customer_id", "kind": "customer_id"},
        "features": ["age", "balance"],
        "label": "churned",
    }
    job = start_import(api, name, {"source": {"location": f"s3://{s3_bucket}/lake/churn/"}, "spec": spec})
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["records"] == 10 and job.result["subjects"] == 10
    rows = SubjectRecord.objects.filter(dataset__name=name, subject_key=request_subject_key("C-03"))
    assert rows.count() == 1
    # Outside the allowed prefix: refused before any job exists.
    response = api.post(
        f"/api/ml/datasets/{name}/imports",
        {"source": {"location": f"s3://{s3_bucket}/other/"}, "spec": spec},
        format="json",
    )
    assert response.status_code == 400 and response.json()["error"]["code"] == "source_not_allowed"


@pytest.fixture
def team_tickets(team_database, settings):
    team_database.execute(
        "CREATE TABLE tickets (ticket_id text PRIMARY KEY, email text, subject_line text, body text, created_at text)"
    )
    rows = [
        ("T-1", PERSON, "Login", "Cannot log in", "2026-09-01"),
        ("T-2", "bruno.keller@example.org", "Invoice", "Two seats billed", "2026-09-02"),
        ("T-3", PERSON, "Login again", "Still cannot log in", "2026-09-03"),
    ]
    for row in rows:
        team_database.execute("INSERT INTO tickets VALUES (%s, %s, %s, %s, %s)", row)
    team_database.grant("tickets")
    settings.DATASET_SOURCES = {"support": {"url": team_database.reader_url, "erase_url": team_database.eraser_url}}
    return team_database


def test_a_postgres_table_imports_as_a_named_source_and_erasure_deletes_its_rows(
    engineer_api, team_tickets, django_capture_on_commit_callbacks
):
    api, people = engineer_api
    name = new_dataset("support-tickets")
    job = start_import(api, name, {"source": {"postgres": "support", "table": "tickets"}, "spec": SPEC})
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["records"] == 3
    assert job.params["source"] == {"postgres": "support", "table": "tickets", "query": None}
    recorded = DatasetStore(platform_object_store(), name).read_manifest("v0001").body["source"]
    assert recorded["name"] == "support" and team_tickets.password not in json.dumps(recorded)

    plan = grant_request_for(PERSON, people["officer"], django_capture_on_commit_callbacks)
    (entry,) = plan.datasets
    assert entry["source"]["rows"] == 2 and entry["source"]["action"] == "delete"
    assert team_tickets.execute("SELECT ticket_id FROM tickets ORDER BY ticket_id") == [("T-2",)]
    erased = AuditEvent.objects.get(action="dataset_source.erased")
    assert erased.data["table"] == "tickets" and erased.data["rows"] == 2 and len(erased.data["record_id_digests"]) == 2
    assert erased.data["request_id"] == plan.request_id
    everything = json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))
    assert team_tickets.password not in everything and PERSON not in everything
    # Run again (a job resumed after a crash between the two steps): nothing changes twice.
    again = dataset_source_erase(
        version=DatasetVersion.objects.get(dataset__name=name, version_id=entry["version_after"]),
        removed_record_ids=[r["record_id"] for r in entry["removed"]],
        request_id=plan.request_id,
        actor="test",
    )
    assert again["rows"] == 0 and team_tickets.execute("SELECT count(*) FROM tickets") == [(1,)]


def test_refused_rows_fail_the_job_with_a_report_and_write_nothing(engineer_api, tmp_path, settings):
    api, people = engineer_api
    settings.ERASURE_DATASET_IMPORT_ROOTS = [str(tmp_path)]
    source = tmp_path / "tickets.csv"
    source.write_text(
        "ticket_id,email,subject_line,body,created_at\nT-1,a@example.org,s,fine,d\nT-2,,s,no owner,d\nT-1,b@example.org,s,dup,d\n"
    )
    name = new_dataset("tickets")
    job = start_import(api, name, {"source": {"location": str(source)}, "spec": SPEC})
    assert job.status == Job.Status.FAILED and "2 of 3 rows" in job.error and "nothing was written" in job.error
    report = job.state["import_report"]
    assert [(r["row"], r["column"]) for r in report["refused"]] == [(2, "email"), (3, "ticket_id")]
    assert not DatasetVersion.objects.filter(dataset__name=name).exists()
    assert DatasetStore(platform_object_store(), name).list_versions() == []
    assert AuditEvent.objects.filter(action="dataset.import_refused").count() == 1
    page = Client()
    page.login(username="engineer", password=PASSWORD)
    html = page.get(f"/ml/jobs/{job.pk}/").content.decode()
    assert "Refused rows" in html and "no identifier" in html and "duplicate record id" in html
    # skip_invalid: the good row makes the version, the others are listed.
    job = start_import(api, name, {"source": {"location": str(source)}, "spec": SPEC, "skip_invalid": True})
    assert job.status == Job.Status.SUCCEEDED and job.result["records"] == 1 and job.result["skipped_rows"] == 2


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"source": {"location": "/etc"}, "spec": SPEC}, 400, "source_not_allowed"),
        ({"source": {"location": "postgresql://u:p@h/db"}, "spec": SPEC}, 400, "invalid_source"),
        ({"source": {"postgres": "nowhere", "table": "t"}, "spec": SPEC}, 400, "unknown_source"),
        ({"source": {}, "spec": SPEC}, 400, "invalid_source"),
        ({"source": {"location": 5}, "spec": SPEC}, 400, "validation_error"),
        ({"source": {"location": "EXAMPLE"}, "spec": {**SPEC, "colour": 1}}, 400, "invalid_spec"),
        ({"source": {"location": "EXAMPLE"}, "spec": "subject: [1"}, 400, "invalid_spec"),
        ({"source": {"location": "EXAMPLE"}, "spec": SPEC, "shards": 0}, 400, "validation_error"),
    ],
)
def test_bad_import_requests_are_refused_before_any_job(engineer_api, body, status, code):
    api, _ = engineer_api
    name = new_dataset("tickets")
    if body["source"].get("location") == "EXAMPLE":
        body = {**body, "source": {"location": str(EXAMPLES / "support-tickets.csv")}}
    response = api.post(f"/api/ml/datasets/{name}/imports", body, format="json")
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert not Job.objects.exists()


def test_only_engineers_import_and_the_dataset_must_be_registered(engineer_api):
    api, people = engineer_api
    body = {"source": {"location": str(EXAMPLES / "support-tickets.csv")}, "spec": SPEC}
    assert api.post("/api/ml/datasets/nothing/imports", body, format="json").status_code == 404
    name = new_dataset("tickets")
    officer = APIClient()
    officer.force_authenticate(people["officer"])
    assert officer.post(f"/api/ml/datasets/{name}/imports", body, format="json").status_code == 403
    assert APIClient().post(f"/api/ml/datasets/{name}/imports", body, format="json").status_code in (401, 403)
    assert not Job.objects.exists()


def test_the_preview_maps_the_first_rows_and_writes_nothing(engineer_api):
    api, _ = engineer_api
    name = new_dataset("tickets")
    response = api.post(
        f"/api/ml/datasets/{name}/imports/preview",
        {"source": {"location": str(EXAMPLES / "support-tickets.csv")}, "spec": json.dumps(SPEC)},
        format="json",
    )
    assert response.status_code == 200, response.content
    preview = response.json()
    assert [r["record_id"] for r in preview["records"]] == [f"T-100{i}" for i in range(1, 7)]
    assert preview["refused_count"] == 0 and preview["rows_scanned"] == 6
    assert PERSON not in response.content.decode()
    assert not DatasetVersion.objects.exists() and not Job.objects.exists()


def test_the_operator_command_imports_registers_and_refuses_with_exit_1(tmp_path, capsys):
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    name = f"tickets-{uuid.uuid4().hex[:8]}"
    call_command(
        "dataset_import", "--dataset", name, "--source", str(EXAMPLES / "support-tickets.csv"), "--spec", str(spec)
    )
    printed = json.loads(capsys.readouterr().out)
    assert printed["records"] == 6 and printed["registered"] == f"{name}@v0001"
    assert Dataset.objects.get(name=name).versions.count() == 1
    bad = tmp_path / "bad.csv"
    bad.write_text("ticket_id,email,subject_line,body,created_at\nT-9,,s,b,d\n")
    with pytest.raises(SystemExit) as exited:
        call_command("dataset_import", "--dataset", name, "--source", str(bad), "--spec", str(spec))
    assert exited.value.code == 1
    assert json.loads(capsys.readouterr().out)["refused_count"] == 1
    assert Dataset.objects.get(name=name).versions.count() == 1


def test_the_portal_registers_a_dataset_previews_an_import_and_starts_it(settings, tmp_path):
    users()
    settings.ERASURE_DATASET_IMPORT_ROOTS = [str(tmp_path)]
    source = tmp_path / "tickets.csv"
    source.write_text(
        "ticket_id,email,subject_line,body,created_at\nT-1,a@example.org,Hello,First ticket,d\nT-2,,Hi,No owner,d\n"
    )
    page = Client()
    page.login(username="engineer", password=PASSWORD)
    name = f"portal-{uuid.uuid4().hex[:8]}"
    response = page.post("/ml/datasets/", {"name": name, "purpose": "training"})
    assert response.status_code == 302 and response["Location"] == f"/ml/datasets/{name}/import"
    form = page.get(f"/ml/datasets/{name}/import").content.decode()
    assert str(tmp_path) in form and "Preview the first rows" in form
    fields = {"source_kind": "location", "location": str(source), "spec": json.dumps(SPEC)}
    preview = page.post(f"/ml/datasets/{name}/import", {**fields, "action": "preview"}).content.decode()
    assert "Preview: nothing has been written" in preview and "First ticket" in preview
    assert "no identifier" in preview and "a@example.org" not in preview
    assert not Job.objects.exists()
    refused = page.post(f"/ml/datasets/{name}/import", {**fields, "location": "/etc/passwd", "action": "preview"})
    assert "ERASURE_DATASET_IMPORT_ROOTS" in refused.content.decode()
    started = page.post(f"/ml/datasets/{name}/import", {**fields, "action": "start", "skip_invalid": "on"})
    job = Job.objects.get(kind="registry.dataset_import")
    assert started.status_code == 302 and started["Location"] == f"/ml/jobs/{job.pk}/"
    assert job.params["skip_invalid"] is True and job.params["source"] == {"location": str(source)}
    job_execute(job_id=job.pk, worker="t")
    job_page = page.get(f"/ml/jobs/{job.pk}/").content.decode()
    assert "<dt>Version id</dt><dd>v0001</dd>" in job_page and "Dataset version" not in job_page
    listing = page.get("/ml/datasets/").content.decode()
    assert name in listing and "1 file" in listing
    officer = Client()
    officer.login(username="officer", password=PASSWORD)
    assert officer.get(f"/ml/datasets/{name}/import").status_code == 403
