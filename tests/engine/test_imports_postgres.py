"""Bring your own data from a team's PostgreSQL: a table or a query read by a read-only role, and
erasure that reaches back to the source rows (delete or mask) as a role allowed to write them."""

from __future__ import annotations

import json

import psycopg
import pytest

from erasure_engine.cli import main
from erasure_engine.datasets import DatasetStore
from erasure_engine.imports import (
    DatasetSpec,
    PostgresSource,
    SourceError,
    SpecError,
    erase_from_source,
    import_dataset,
    record_id_digest,
)
from erasure_engine.records import subject_key
from erasure_engine.storage import LocalObjectStore

SECRET = "postgres-import-secret"
SPEC = {
    "subject": {"column": "email", "kind": "email"},
    "record_id": {"column": "ticket_id"},
    "text": "{subject_line}\n\n{body}",
    "metadata": ["created_at", "priority"],
}


@pytest.fixture
def tickets(team_database):
    team_database.execute("CREATE SCHEMA support")
    team_database.execute(
        "CREATE TABLE support.tickets (ticket_id bigint PRIMARY KEY, email text, subject_line text, body text,"
        " created_at timestamptz, priority int, internal_notes text)"
    )
    team_database.execute(
        "INSERT INTO support.tickets SELECT i, 'person' || (i % 7) || '@example.org', 'Ticket ' || i,"
        " 'Body of ticket ' || i, timestamptz '2026-09-01 00:00+00' + i * interval '1 hour', i % 3, 'secret note ' || i"
        " FROM generate_series(1, 60) AS i"
    )
    team_database.execute(f'GRANT USAGE ON SCHEMA support TO "{team_database.reader}", "{team_database.eraser}"')
    team_database.grant("support.tickets")
    return team_database


def run_import(tmp_path, source, spec=SPEC, **options):
    store = LocalObjectStore(tmp_path / "store")
    report = import_dataset(
        source, DatasetSpec.from_dict(spec), store=store, dataset="tickets", secret=SECRET, **options
    )
    return store, report


def test_a_table_imports_as_a_read_only_role_with_the_password_never_stored(tmp_path, tickets):
    source = PostgresSource(tickets.reader_url, table="support.tickets")
    store, report = run_import(tmp_path, source, shards=2, slices=2)
    assert report.accepted and report.records == 60 and report.subjects == 7
    version = DatasetStore(store, "tickets").load_version(report.version_id)
    record = {r.record_id: r for r in version.records()}["5"]
    assert record.content == {
        "text": "Ticket 5\n\nBody of ticket 5",
        "metadata": {"created_at": "2026-09-01T05:00:00+00:00", "priority": 2},
    }
    assert record.subject_key == subject_key("person5@example.org", SECRET)
    everything = b"".join(p.read_bytes() for p in (tmp_path / "store").rglob("*") if p.is_file())
    assert b"@example.org" not in everything and b"secret note" not in everything
    assert tickets.password.encode() not in everything
    recorded = DatasetStore(store, "tickets").read_manifest(report.version_id).body["source"]
    assert recorded["url"] == tickets.url(user=tickets.reader) and recorded["table"] == "support.tickets"
    # The import's transaction is read-only: a query that writes is refused by the server itself.
    tickets.execute(
        "CREATE FUNCTION support.purge() RETURNS SETOF support.tickets LANGUAGE sql AS"
        " 'DELETE FROM support.tickets RETURNING *'"
    )
    writer = PostgresSource(tickets.owner_url, query="SELECT * FROM support.purge()")
    with pytest.raises(SourceError, match="read-only transaction"):
        run_import(tmp_path / "w", writer, spec={**SPEC, "on_erase": {"action": "delete", "table": "support.tickets"}})
    assert tickets.execute("SELECT count(*) FROM support.tickets") == [(60,)]


def test_erasure_deletes_the_source_rows_as_the_eraser_role_only(tmp_path, tickets):
    store, report = run_import(tmp_path, PostgresSource(tickets.reader_url, table="support.tickets"))
    datasets = DatasetStore(store, "tickets")
    erased = datasets.erase(report.version_id, subject_keys=[subject_key("person3@example.org", SECRET)])
    record_ids = [r["record_id"] for r in erased.removed_records]
    assert sorted(map(int, record_ids)) == list(range(3, 61, 7))
    source = datasets.read_manifest(erased.new_version).body["source"]
    with pytest.raises(SourceError, match="permission denied"):
        erase_from_source(source, record_ids, url=tickets.reader_url)
    assert tickets.execute("SELECT count(*) FROM support.tickets") == [(60,)]  # nothing half-done
    done = erase_from_source(source, record_ids, url=tickets.eraser_url)
    assert done["rows"] == len(record_ids) and done["action"] == "delete" and done["table"] == "support.tickets"
    assert done["record_id_digests"] == [record_id_digest(i) for i in sorted(record_ids)]
    assert tickets.password not in json.dumps(done)
    assert tickets.execute("SELECT count(*) FROM support.tickets WHERE email = 'person3@example.org'") == [(0,)]
    assert tickets.execute("SELECT count(*) FROM support.tickets") == [(60 - len(record_ids),)]
    assert erase_from_source(source, record_ids, url=tickets.eraser_url)["rows"] == 0  # idempotent


def test_masking_a_query_source_updates_the_named_columns(tmp_path, tickets):
    spec = {
        **SPEC,
        "on_erase": {
            "action": "mask",
            "columns": {"email": None, "body": "[erased]", "internal_notes": "[erased]"},
            "table": "support.tickets",
        },
    }
    query = "SELECT ticket_id, email, subject_line, body, created_at, priority FROM support.tickets WHERE priority > 0"
    store, report = run_import(tmp_path, PostgresSource(tickets.reader_url, query=query), spec=spec)
    assert report.records == 40
    datasets = DatasetStore(store, "tickets")
    erased = datasets.erase(report.version_id, subject_keys=[subject_key("person1@example.org", SECRET)])
    record_ids = [r["record_id"] for r in erased.removed_records]
    done = erase_from_source(
        datasets.read_manifest(erased.new_version).body["source"], record_ids, url=tickets.eraser_url
    )
    assert done["action"] == "mask" and done["masked_columns"] == ["body", "email", "internal_notes"]
    rows = tickets.execute(
        "SELECT email, body, internal_notes FROM support.tickets WHERE ticket_id = ANY(%s)",
        [[int(i) for i in record_ids]],
    )
    assert len(rows) == done["rows"] == len(record_ids) and set(rows) == {(None, "[erased]", "[erased]")}
    assert tickets.execute("SELECT count(*) FROM support.tickets WHERE email = 'person1@example.org'") == [
        (60 // 7 + 1 - len(record_ids),)  # the rows the query never read (priority 0) are not the platform's
    ]


def test_a_postgres_source_refuses_what_it_could_not_erase_and_names_missing_columns(tmp_path, tickets):
    source = PostgresSource(tickets.reader_url, table="support.tickets")
    with pytest.raises(SpecError, match="needs record_id.column"):
        run_import(tmp_path, source, spec={k: v for k, v in SPEC.items() if k != "record_id"})
    with pytest.raises(SpecError, match="needs on_erase.table"):
        run_import(tmp_path, PostgresSource(tickets.reader_url, query="SELECT * FROM support.tickets"))
    with pytest.raises(SourceError, match="no column 'colour'") as raised:
        run_import(tmp_path, source, spec={**SPEC, "metadata": ["colour"]})
    assert raised.value.code == "missing_column"
    with pytest.raises(SourceError, match="cannot connect"):
        run_import(tmp_path, PostgresSource(tickets.url(user="nobody_at_all"), table="support.tickets"))
    with pytest.raises(SourceError, match="does not exist"):
        run_import(tmp_path, PostgresSource(tickets.reader_url, table="support.nothing"))
    tickets.execute("UPDATE support.tickets SET email = NULL WHERE ticket_id = 9")
    _, report = run_import(tmp_path, source)
    assert report.refused == [
        {"file": "support.tickets", "row": 9, "column": "email", "reason": report.refused[0]["reason"]}
    ]
    assert "no identifier" in report.refused[0]["reason"] and report.version_id is None


def test_the_cli_imports_a_table_with_pgpassword_from_the_environment(tmp_path, tickets, monkeypatch, capsys):
    monkeypatch.setenv("ERASURE_SUBJECT_KEY_SECRET", SECRET)
    monkeypatch.setenv("PGPASSWORD", tickets.password)
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "subject: {column: email, kind: email}\nrecord_id: {column: ticket_id}\ntext: '{subject_line}: {body}'\n"
    )
    url = tickets.url(user=tickets.reader)  # no password in the URL: libpq reads PGPASSWORD
    code = main(
        ["datasets", "import", "--store", str(tmp_path / "s"), "--dataset", "tickets", "--source", url]
        + ["--table", "support.tickets", "--spec", str(spec), "--shards", "4"]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["records"] == 60 and printed["source"]["url"] == url
    with psycopg.connect(tickets.owner_url) as connection:
        assert connection.execute("SELECT count(*) FROM support.tickets").fetchone() == (60,)
