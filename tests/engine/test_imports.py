"""Bring your own data, engine side: files (CSV, JSONL, Parquet; a folder; an s3:// prefix on the
moto server) mapped by a spec into dataset versions, identifiers hashed at the door, every kind
of bad input refused whole with a report (or skipped and listed), appends that keep placements."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from erasure_engine.cli import main
from erasure_engine.datasets import DatasetStore
from erasure_engine.errors import InvalidInput
from erasure_engine.imports import (
    DatasetSpec,
    IdentityMapSpec,
    SourceError,
    SpecError,
    import_dataset,
    open_source,
    parse_spec_text,
    preview_import,
    read_identity_links,
)
from erasure_engine.records import subject_key
from erasure_engine.storage import LocalObjectStore, S3ObjectStore

SECRET = "import-test-secret"
EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"
TICKET_SPEC = {
    "subject": {"column": "email", "kind": "email"},
    "record_id": {"column": "ticket_id"},
    "text": "{subject_line}\n\n{body}",
    "metadata": ["created_at"],
}
CHURN_SPEC = {
    "subject": {"column": "customer_id", "kind": "customer_id"},
    "features": ["age", "balance"],
    "label": "churned",
}


def write_csv(path: Path, text: str, *, bom: bool = False) -> Path:
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def tickets_csv(path: Path, rows: list[tuple], *, bom: bool = False) -> Path:
    def quote(value: str) -> str:
        return '"' + value.replace('"', '""') + '"'

    lines = ["ticket_id,email,subject_line,body,created_at,agent_notes"]
    lines += [",".join(quote(str(v)) for v in row) for row in rows]
    return write_csv(path, "\r\n".join(lines) + "\r\n", bom=bom)


def run_import(tmp_path, source, spec=TICKET_SPEC, *, dataset="tickets", **options):
    store = LocalObjectStore(tmp_path / "store")
    report = import_dataset(
        open_source(str(source)), DatasetSpec.from_dict(spec), store=store, dataset=dataset, secret=SECRET, **options
    )
    return store, report


def stored_bytes(root: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file())


def test_the_example_csv_imports_with_quoting_a_bom_and_no_identifier_in_the_store(tmp_path):
    source = tmp_path / "tickets.csv"
    source.write_bytes(b"\xef\xbb\xbf" + (EXAMPLES / "support-tickets.csv").read_bytes())
    store, report = run_import(tmp_path, source, spec=json.loads((EXAMPLES / "support-tickets.spec.json").read_text()))
    assert report.accepted and report.new_version and report.version_id == "v0001"
    assert (report.records, report.imported, report.subjects, report.refused_count) == (6, 6, 4, 0)
    version = DatasetStore(store, "tickets").load_version("v0001")
    by_id = {r.record_id: r for r in version.records()}
    assert set(by_id) == {f"T-100{i}" for i in range(1, 7)}
    # RFC 4180: a doubled quote is a quote, a quoted newline stays in the value.
    assert 'The "Download" button' in by_id["T-1004"].content["text"]
    assert "Hauptstrasse 5, 10115 Berlin\nfor all" in by_id["T-1005"].content["text"]
    assert by_id["T-1001"].content == {
        "text": "Cannot log in\n\nSince Monday the app says my password is wrong, although I reset it twice.",
        "metadata": {"created_at": "2026-09-01T08:12:00Z"},
    }
    assert by_id["T-1001"].subject_key == by_id["T-1003"].subject_key == subject_key("Ada.Moreau@example.org", SECRET)
    everything = stored_bytes(tmp_path / "store")
    for identifier in ("ada.moreau@example.org", "bruno.keller", "chiara.ricci", "dmitri.volkov"):
        assert identifier.encode() not in everything
    # A column the spec does not name never reaches the store.
    assert b"escalated" not in everything and b"called back" not in everything
    assert report.source["files"] == [str(source)]


def test_csv_jsonl_and_parquet_give_the_same_tabular_records(tmp_path):
    rows = [("c-1", 34, 1200.5, True), ("c-2", 51, 80.0, False), ("c-1", 35, 900.0, False)]
    csv = write_csv(
        tmp_path / "churn.csv",
        "customer_id,age,balance,churned,notes\n"
        + "".join(f"{c},{a},{b},{str(churned).lower()},x\n" for c, a, b, churned in rows),
    )
    jsonl = tmp_path / "churn.jsonl"
    jsonl.write_text(
        "".join(
            json.dumps({"customer_id": c, "age": a, "balance": b, "churned": churned}) + "\n"
            for c, a, b, churned in rows
        )
    )
    parquet = tmp_path / "churn.parquet"
    pq.write_table(
        pa.table(
            {name: [row[i] for row in rows] for i, name in enumerate(["customer_id", "age", "balance", "churned"])}
        ),
        parquet,
    )
    contents = []
    for index, source in enumerate((csv, jsonl, parquet)):
        store, report = run_import(tmp_path / str(index), source, spec=CHURN_SPEC, dataset="churn")
        assert report.accepted and report.records == 3 and report.subjects == 2
        version = DatasetStore(store, "churn").load_version(report.version_id)
        contents.append(sorted((r.record_id, r.subject_key, json.dumps(r.content)) for r in version.records()))
    assert contents[0] == contents[1] == contents[2]
    assert {json.loads(c)["label"] for _, _, c in contents[0]} == {0, 1}
    assert all(record_id.startswith("row-") for record_id, _, _ in contents[0])  # a keyed hash of the row


def test_a_folder_of_mixed_files_reads_in_path_order(tmp_path):
    folder = tmp_path / "lake"
    (folder / "2026" / "09").mkdir(parents=True)
    tickets_csv(folder / "2026" / "09" / "a.csv", [("T-1", "a@example.org", "s", "one", "2026-09-01", "")])
    (folder / "2026" / "09" / "b.jsonl").write_text(
        json.dumps(
            {"ticket_id": "T-2", "email": "b@example.org", "subject_line": "s", "body": "two", "created_at": "x"}
        )
        + "\n\n"
    )
    pq.write_table(
        pa.table(
            {
                "ticket_id": ["T-3"],
                "email": ["a@example.org"],
                "subject_line": ["s"],
                "body": ["three"],
                "created_at": ["y"],
            }
        ),
        folder / "2026" / "c.parquet",
    )
    (folder / "README.txt").write_text("not data")
    store, report = run_import(tmp_path, folder)
    assert report.records == 3 and report.subjects == 2
    assert [Path(f).name for f in report.source["files"]] == ["a.csv", "b.jsonl", "c.parquet"]


def test_a_parquet_prefix_on_s3_imports_into_an_s3_store(tmp_path, s3_client, s3_bucket, s3_endpoint):
    for part in range(3):
        table = pa.table(
            {
                "ticket_id": [f"T-{part}-{i}" for i in range(4)],
                "email": [f"person{i}@example.org" for i in range(4)],
                "subject_line": ["Question"] * 4,
                "body": [f"part {part} row {i}" for i in range(4)],
                "created_at": ["2026-09-01"] * 4,
            }
        )
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink)
        s3_client.put_object(
            Bucket=s3_bucket, Key=f"lake/tickets/part-{part}.parquet", Body=sink.getvalue().to_pybytes()
        )
    source = open_source(f"s3://{s3_bucket}/lake/tickets/", endpoint_url=s3_endpoint)
    assert len(source.files) == 3
    store = S3ObjectStore(s3_bucket, "platform", client=s3_client)
    report = import_dataset(
        source, DatasetSpec.from_dict(TICKET_SPEC), store=store, dataset="tickets", secret=SECRET, shards=2, slices=2
    )
    assert report.accepted and report.records == 12 and report.subjects == 4
    assert report.source["files"][0] == f"s3://{s3_bucket}/lake/tickets/part-0.parquet"
    version = DatasetStore(store, "tickets").load_version(report.version_id)
    assert (version.shards, version.slices) == (2, 2)
    for listed in s3_client.list_objects_v2(Bucket=s3_bucket, Prefix="platform/")["Contents"]:
        body = s3_client.get_object(Bucket=s3_bucket, Key=listed["Key"])["Body"].read()
        assert b"@example.org" not in body, listed["Key"]


BAD_ROWS = [
    # (row as written, the column at fault, a word of the reason)
    (("T-2", "", "s", "body", "d", ""), "email", "no identifier"),
    (("T-3", "not-an-address", "s", "body", "d", ""), "email", "e-mail"),
    (("T-1", "c@example.org", "s", "again", "d", ""), "ticket_id", "duplicate record id"),
    (("T-4", "d@example.org", "  ", "\n", "d", ""), "subject_line,body", "empty text"),
    (("", "e@example.org", "s", "body", "d", ""), "ticket_id", "no record id"),
]


@pytest.mark.parametrize(("row", "column", "reason"), BAD_ROWS, ids=[case[2] for case in BAD_ROWS])
def test_a_bad_row_refuses_the_import_whole_and_names_the_row(tmp_path, row, column, reason):
    good = ("T-1", "a@example.org", "s", "fine", "d", "")
    source = tickets_csv(tmp_path / "t.csv", [good, ("T-9", "b@example.org", "s", "fine", "d", ""), row])
    store, report = run_import(tmp_path, source)
    assert not report.accepted and report.version_id is None and not report.new_version
    assert report.refused_count == 1 and report.records == 0
    (refusal,) = report.refused
    assert refusal["file"] == str(source) and refusal["row"] == 3  # data rows, the header not counted
    assert refusal["column"] == column and reason in refusal["reason"]
    assert DatasetStore(store, "tickets").list_versions() == []
    # With skip_invalid the row is left out and listed; the others make the version.
    store, skipped = run_import(tmp_path / "skip", source, skip_invalid=True)
    assert skipped.accepted and skipped.records == 2 and skipped.refused == report.refused
    assert sorted(DatasetStore(store, "tickets").load_version(skipped.version_id).record_ids()) == ["T-1", "T-9"]


def test_wrong_types_are_refused_per_row_in_typed_and_text_sources(tmp_path):
    jsonl = tmp_path / "churn.jsonl"
    lines = [
        {"customer_id": "c-1", "age": 30, "balance": 1.5, "churned": 0},
        {"customer_id": "c-2", "age": "thirty", "balance": 1.5, "churned": 0},
        {"customer_id": "c-3", "age": 30, "balance": 1.5, "churned": "maybe"},
        {"customer_id": "c-4", "balance": 1.5, "churned": 1},
    ]
    jsonl.write_text("\n".join(json.dumps(line) for line in lines) + "\n{not json\n[1, 2]\n")
    _, report = run_import(tmp_path, jsonl, spec=CHURN_SPEC, dataset="churn")
    assert report.refused_count == 5
    assert [(r["row"], r["column"]) for r in report.refused] == [
        (2, "age"),
        (3, "churned"),
        (4, "age"),
        (5, None),
        (6, None),
    ]
    assert "missing column" in report.refused[2]["reason"] and "not JSON" in report.refused[3]["reason"]
    csv = write_csv(tmp_path / "churn.csv", "customer_id,age,balance,churned\nc-1,30,1.5,0\nc-2,30,lots,1\n")
    _, report = run_import(tmp_path / "csv", csv, spec=CHURN_SPEC, dataset="churn")
    assert report.refused == [
        {"file": str(csv), "row": 2, "column": "balance", "reason": "expected a number, found 'lots'"}
    ]


def test_a_source_that_cannot_be_read_is_an_error_and_writes_nothing(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    spec = DatasetSpec.from_dict(TICKET_SPEC)
    missing_column = tickets_csv(tmp_path / "t.csv", [("T-1", "a@example.org", "s", "b", "d", "")])
    other = dict(TICKET_SPEC, metadata=["created_at", "priority"])
    with pytest.raises(SourceError, match="no column 'priority'") as raised:
        import_dataset(
            open_source(str(missing_column)), DatasetSpec.from_dict(other), store=store, dataset="t", secret=SECRET
        )
    assert raised.value.code == "missing_column" and raised.value.details["column"] == "priority"
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(SourceError, match="cannot read"):
        import_dataset(open_source(str(broken)), spec, store=store, dataset="t", secret=SECRET)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("ticket_id,email,subject_line,body,created_at\nT-1,a@example.org,s,caf\xe9,d\n".encode("latin-1"))
    with pytest.raises(SourceError, match="cannot read"):
        import_dataset(open_source(str(latin)), spec, store=store, dataset="t", secret=SECRET)
    with pytest.raises(SourceError, match="does not exist"):
        open_source(str(tmp_path / "nowhere"))
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    with pytest.raises(SourceError, match="no CSV, JSONL or Parquet"):
        open_source(str(empty))
    assert not (tmp_path / "store").exists() or DatasetStore(store, "t").list_versions() == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**TICKET_SPEC, "colour": "red"}, "unknown keys: colour"),
        ({**TICKET_SPEC, "subject": {"column": "email"}}, "subject lacks kind"),
        ({**TICKET_SPEC, "subject": {"column": "email", "kind": "passport"}}, "subject.kind must be one of"),
        ({**TICKET_SPEC, "text": "{subject.upper}"}, "plain column name"),
        ({**TICKET_SPEC, "text": "no fields here"}, "names no column"),
        ({**TICKET_SPEC, "features": ["age"], "label": "churned"}, "either a text template"),
        ({**TICKET_SPEC, "metadata": ["email"]}, "identifiers never reach the object store"),
        ({**TICKET_SPEC, "record_id": {"column": "email"}}, "must not be the subject's identifier"),
        ({**TICKET_SPEC, "on_erase": {"action": "shred"}}, "on_erase.action must be one of"),
        ({**TICKET_SPEC, "on_erase": {"action": "mask"}}, "on_erase.columns must map"),
        ({**CHURN_SPEC, "features": []}, "features must be a non-empty list"),
        ([1, 2], "the spec must be an object"),
    ],
)
def test_a_spec_is_validated_whole_before_any_row_is_read(spec, message):
    with pytest.raises(SpecError, match=message):
        DatasetSpec.from_dict(spec)


def test_specs_read_from_json_or_yaml_are_the_same():
    yaml_text = (
        "subject: {column: email, kind: email}\nrecord_id: {column: ticket_id}\n"
        'text: "{subject_line}\\n\\n{body}"\nmetadata: [created_at]\n'
    )
    assert parse_spec_text(yaml_text) == parse_spec_text(json.dumps(TICKET_SPEC)) == DatasetSpec.from_dict(TICKET_SPEC)
    with pytest.raises(SpecError, match="empty"):
        parse_spec_text("  ")
    assert DatasetSpec.from_dict(DatasetSpec.from_dict(TICKET_SPEC).to_dict()) == DatasetSpec.from_dict(TICKET_SPEC)


def test_an_append_keeps_placed_subjects_and_running_it_again_writes_nothing(tmp_path):
    first = [(f"T-{i}", f"p{i % 5}@example.org", "s", f"ticket {i}", "d", "") for i in range(20)]
    store, report = run_import(tmp_path, tickets_csv(tmp_path / "a.csv", first), shards=3, slices=2, seed=4)
    datasets = DatasetStore(store, "tickets")
    before = datasets.load_version(report.version_id)
    places = {r.subject_key: before.shard_slice_of(r.record_id) for r in before.records()}
    later = [(f"T-{i}", f"p{i % 8}@example.org", "s", f"ticket {i}", "d", "") for i in range(20, 40)]
    source = tickets_csv(tmp_path / "b.csv", later)
    appended = import_dataset(
        open_source(str(source)), DatasetSpec.from_dict(TICKET_SPEC), store=store, dataset="tickets", secret=SECRET
    )
    assert appended.new_version and appended.parent_id == "v0001" and appended.version_id == "v0002"
    assert (appended.records, appended.imported) == (40, 20)
    after = datasets.load_version("v0002")
    assert (after.shards, after.slices, after.seed) == (3, 2, 4)
    for record in after.records():
        if record.subject_key in places:
            assert after.shard_slice_of(record.record_id) == places[record.subject_key]
    again = import_dataset(
        open_source(str(source)), DatasetSpec.from_dict(TICKET_SPEC), store=store, dataset="tickets", secret=SECRET
    )
    assert not again.new_version and again.version_id == "v0002" and again.unchanged == 20
    assert datasets.list_versions() == ["v0001", "v0002"]
    # An erasure after the append still works and keeps the source.
    erased = datasets.erase("v0002", subject_keys=[subject_key("p7@example.org", SECRET)])
    assert {r["record_id"] for r in erased.removed_records} == {"T-23", "T-31", "T-39"}
    assert datasets.read_manifest(erased.new_version).body["source"]["kind"] == "files"
    changed = tickets_csv(tmp_path / "c.csv", [("T-1", "p1@example.org", "s", "edited", "d", "")])
    refused = import_dataset(
        open_source(str(changed)), DatasetSpec.from_dict(TICKET_SPEC), store=store, dataset="tickets", secret=SECRET
    )
    assert refused.refused_count == 1 and "already in the dataset with other content" in refused.refused[0]["reason"]
    with pytest.raises(InvalidInput, match="an append keeps that layout"):
        import_dataset(
            open_source(str(source)),
            DatasetSpec.from_dict(TICKET_SPEC),
            store=store,
            dataset="tickets",
            secret=SECRET,
            shards=8,
        )


def test_an_interrupted_import_leaves_no_version_and_runs_again(tmp_path, monkeypatch):
    rows = [(f"T-{i}", f"p{i}@example.org", "s", f"ticket {i}", "d", "") for i in range(12)]
    source = tickets_csv(tmp_path / "a.csv", rows)
    store = LocalObjectStore(tmp_path / "store")
    writes = []
    original = LocalObjectStore.put_bytes

    def dies_on_third_object(self, key, data):
        writes.append(key)
        if len(writes) == 3:
            raise OSError("disk gone")
        return original(self, key, data)

    monkeypatch.setattr(LocalObjectStore, "put_bytes", dies_on_third_object)
    spec = DatasetSpec.from_dict(TICKET_SPEC)
    with pytest.raises(OSError, match="disk gone"):
        import_dataset(open_source(str(source)), spec, store=store, dataset="t", secret=SECRET, shards=2, slices=2)
    assert DatasetStore(store, "t").list_versions() == []
    monkeypatch.setattr(LocalObjectStore, "put_bytes", original)
    report = import_dataset(open_source(str(source)), spec, store=store, dataset="t", secret=SECRET, shards=2, slices=2)
    assert report.version_id == "v0001" and report.records == 12
    DatasetStore(store, "t").load_version("v0001")  # every object there, every hash right


def test_the_preview_maps_the_first_rows_and_lists_the_refused_without_writing(tmp_path):
    rows = [(f"T-{i}", f"p{i}@example.org", "s", f"ticket {i}", "d", "") for i in range(30)]
    rows[3] = ("T-3", "", "s", "x", "d", "")
    preview = preview_import(
        open_source(str(tickets_csv(tmp_path / "a.csv", rows))), DatasetSpec.from_dict(TICKET_SPEC), secret=SECRET
    )
    assert len(preview["records"]) == 20 and preview["records"][0]["record_id"] == "T-0"
    assert preview["refused_count"] == 1 and preview["refused"][0]["row"] == 4
    assert preview["rows_scanned"] == 30 and "p0@example.org" not in json.dumps(preview)


def test_the_cli_prints_the_report_and_exits_0_1_or_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ERASURE_SUBJECT_KEY_SECRET", SECRET)
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(TICKET_SPEC))
    good = tickets_csv(tmp_path / "good.csv", [("T-1", "a@example.org", "s", "b", "d", "")])
    bad = tickets_csv(tmp_path / "bad.csv", [("T-2", "", "s", "b", "d", "")])
    store = str(tmp_path / "store")
    base = ["datasets", "import", "--store", store, "--dataset", "tickets", "--spec", str(spec)]
    report_file = tmp_path / "report.json"
    assert main([*base, "--source", str(good), "--report", str(report_file)]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["version_id"] == "v0001" and printed["records"] == 1 and printed["refused"] == []
    assert json.loads(report_file.read_text()) == printed
    assert main([*base, "--source", str(bad)]) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed["refused_count"] == 1 and printed["version_id"] is None
    assert main([*base, "--source", str(tmp_path / "missing.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main([*base, "--source", str(good), "--table", "t"]) == 2
    monkeypatch.delenv("ERASURE_SUBJECT_KEY_SECRET")
    assert main([*base, "--source", str(good)]) == 2
    assert "ERASURE_SUBJECT_KEY_SECRET" in capsys.readouterr().err


def test_an_identity_map_links_the_keys_of_each_persons_identifiers(tmp_path):
    source = write_csv(
        tmp_path / "customers.csv",
        "email,customer_id,name\n"
        "ada@example.org,C-1,Ada\n"
        "bruno@example.org,C-2,Bruno\n"
        "ada@example.org,C-7,Ada again\n"  # a second account of the same person
        ",C-9,nobody known\n"  # one identifier: links nothing
        "not-an-address,C-3,typo\n",
    )
    spec = IdentityMapSpec.from_dict(
        {"identities": [{"column": "email", "kind": "email"}, {"column": "customer_id", "kind": "customer_id"}]}
    )
    report = read_identity_links(open_source(str(source)), spec, secret=SECRET)
    key = lambda identifier: subject_key(identifier, SECRET)  # noqa: E731
    ada = sorted([key("ada@example.org"), key("C-1"), key("C-7")])  # two rows share Ada's e-mail: one person
    assert report.links == sorted(
        [(ada[0], ada[1]), (ada[0], ada[2]), (ada[1], ada[2]), tuple(sorted([key("bruno@example.org"), key("C-2")]))]
    )
    assert report.people == 2 and report.rows_read == 5 and not report.accepted
    assert [(r["row"], r["column"]) for r in report.refused] == [(4, None), (5, "email")]
    assert "ada@example.org" not in json.dumps(report.summary()) and report.summary()["links"] == 4
    shared = write_csv(
        tmp_path / "shared.csv",
        "email,customer_id\n" + "".join(f"support@example.org,C-{i}\n" for i in range(120)),
    )
    with pytest.raises(InvalidInput, match="ties 121 identifiers to one person"):
        read_identity_links(open_source(str(shared)), spec, secret=SECRET)
    with pytest.raises(SpecError, match="at least two"):
        IdentityMapSpec.from_dict({"identities": [{"column": "email", "kind": "email"}]})
    with pytest.raises(SpecError, match="unknown keys"):
        IdentityMapSpec.from_dict({"identities": [], "subject": {}})
