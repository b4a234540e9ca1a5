"""Versioned datasets on both backends: stable SISA placement, integrity checks, erasure that
deletes for good and survives crashes; and the data command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest

from erasure_engine.cli import main
from erasure_engine.datagen import build_corpus, generate_general_text
from erasure_engine.datasets import DatasetStore, assign_places
from erasure_engine.errors import EngineError, IntegrityMismatch, InvalidInput, ObjectNotFound
from erasure_engine.records import Record
from erasure_engine.storage import LocalObjectStore, ObjectStore, S3ObjectStore

SECRET = "dataset-test-secret"
CORPUS = build_corpus("tiny", seed=3, secret=SECRET)


@pytest.fixture(params=["local", "s3"])
def object_store(request, tmp_path) -> ObjectStore:
    if request.param == "local":
        return LocalObjectStore(tmp_path / "store")
    client = request.getfixturevalue("s3_client")
    return S3ObjectStore(request.getfixturevalue("s3_bucket"), "datasets", client=client)


def stored_bytes(store: ObjectStore) -> dict[str, bytes]:
    return {key: store.get_bytes(key) for key in store.list_keys()}


def subject_records(index: int) -> list[Record]:
    key = CORPUS.records[0].subject_key if index == 0 else None
    stem = f"subj-{index:04d}-"
    found = [r for r in CORPUS.records if r.record_id.startswith(stem)]
    assert found and (key is None or found[0].subject_key == key)
    return found


class SimulatedCrash(Exception):
    pass


class CrashingStore(ObjectStore):
    """Delegates to a real store, but dies on the n-th call of one operation (before doing it)."""

    def __init__(self, inner: ObjectStore, operation: str, crash_at: int):
        self.inner, self.operation, self.remaining = inner, operation, crash_at

    def _tick(self, operation: str) -> None:
        if operation == self.operation:
            if self.remaining == 0:
                raise SimulatedCrash(operation)
            self.remaining -= 1

    def put_bytes(self, key, data):
        self._tick("put_bytes")
        return self.inner.put_bytes(key, data)

    def delete_permanently(self, key):
        self._tick("delete_permanently")
        return self.inner.delete_permanently(key)

    def get_bytes(self, key):
        return self.inner.get_bytes(key)

    def exists(self, key):
        return self.inner.exists(key)

    def list_keys(self, prefix=""):
        return self.inner.list_keys(prefix)

    def list_versions(self, prefix=""):
        return self.inner.list_versions(prefix)

    def url(self, key=""):
        return self.inner.url(key)


# ---------------------------------------------------------------- versions and placement


def test_create_and_load_round_trip(object_store):
    datasets = DatasetStore(object_store, "people")
    created = datasets.create_version(CORPUS.records, shards=3, slices=2, seed=9)
    loaded = datasets.load_version(created.version_id)
    assert (loaded.dataset, loaded.version_id, loaded.parent_id) == ("people", "v0001", None)
    assert (loaded.shards, loaded.slices, loaded.seed) == (3, 2, 9)
    assert sorted(loaded.records(), key=lambda r: r.record_id) == sorted(CORPUS.records, key=lambda r: r.record_id)
    assert loaded.manifest_sha256 == created.manifest_sha256
    manifest_key = next(k for k in object_store.list_keys("people/manifests/"))
    assert hashlib.sha256(object_store.get_bytes(manifest_key)).hexdigest() == loaded.manifest_sha256
    manifest = loaded.manifest
    assert manifest["created_at"].endswith("Z") and manifest["record_count"] == len(CORPUS.records)
    for obj in manifest["objects"]:
        members = loaded.records_in(obj["shard"], obj["slice"])
        assert obj["records"] == len(members)
        assert hashlib.sha256(object_store.get_bytes(obj["key"])).hexdigest() == obj["sha256"]
    record = CORPUS.records[5]
    assert (
        loaded.shard_slice_of(record.record_id)
        == assign_places(CORPUS.records, seed=9, shards=3, slices=2)[record.record_id]
    )
    assert manifest["placement"] == {"scheme": "balanced-v1", "reused_from": None}
    assert loaded.content_hashes([record.record_id]) == {record.record_id: record.content_hash}
    assert loaded.record_ids_of_subjects([record.subject_key]) == [
        e["record_id"] for e in manifest["records"] if e["subject_key"] == record.subject_key
    ]
    assert len(loaded.record_ids_of_subjects([record.subject_key])) == 10
    assert datasets.list_versions() == ["v0001"]
    assert datasets.latest().version_id == "v0001"


def test_placement_is_stable_when_records_are_removed(tmp_path):
    datasets = DatasetStore(LocalObjectStore(tmp_path), "people")
    full = datasets.create_version(CORPUS.records, shards=4, slices=3, seed=1)
    # Places are recorded in the manifest and reused by later versions of the dataset.
    fewer = datasets.create_version(CORPUS.records[::3], shards=4, slices=3, seed=1, parent_id=full.version_id)
    assert fewer.manifest["placement"]["reused_from"] == full.version_id
    for shard in range(4):
        for slice_index in range(3):
            kept = {r.record_id for r in fewer.records_in(shard, slice_index)}
            full_order = [r.record_id for r in full.records_in(shard, slice_index) if r.record_id in kept]
            assert [r.record_id for r in fewer.records_in(shard, slice_index)] == full_order
    other_seed = datasets.create_version(CORPUS.records, shards=4, slices=3, seed=2)
    moved = [
        r.record_id
        for r in CORPUS.records
        if full.shard_slice_of(r.record_id) != other_seed.shard_slice_of(r.record_id)
    ]
    assert len(moved) > len(CORPUS.records) // 2
    sizes = [obj["records"] for obj in full.manifest["objects"]]
    assert len(sizes) == 12 and sum(1 for size in sizes if size) >= 9  # 20 subjects spread over 12 cells


def test_unknown_lookups_and_bad_input(tmp_path):
    datasets = DatasetStore(LocalObjectStore(tmp_path), "people")
    version = datasets.create_version(CORPUS.records[:20], shards=2, slices=1, seed=0)
    with pytest.raises(InvalidInput, match="nope"):
        version.shard_slice_of("nope")
    with pytest.raises(InvalidInput, match="nope"):
        version.content_hashes(["nope"])
    assert version.record_ids_of_subjects(["no-such-key"]) == []
    with pytest.raises(ObjectNotFound, match="v0007"):
        datasets.load_version("v0007")
    with pytest.raises(InvalidInput):
        datasets.load_version("../x")
    with pytest.raises(InvalidInput, match="duplicate"):
        datasets.create_version(CORPUS.records[:3] + CORPUS.records[:1], shards=1, slices=1, seed=0)
    with pytest.raises(InvalidInput):
        datasets.create_version(CORPUS.records, shards=0, slices=1, seed=0)
    with pytest.raises(InvalidInput):
        DatasetStore(LocalObjectStore(tmp_path), "Bad Name")
    with pytest.raises(ObjectNotFound):
        DatasetStore(LocalObjectStore(tmp_path), "empty").latest()


def test_corrupt_object_and_manifest_are_detected(tmp_path):
    store = LocalObjectStore(tmp_path)
    datasets = DatasetStore(store, "people")
    version = datasets.create_version(CORPUS.records, shards=2, slices=2, seed=0)
    obj = version.manifest["objects"][1]
    store.put_bytes(obj["key"], store.get_bytes(obj["key"]).replace(b"born", b"BORN"))
    with pytest.raises(IntegrityMismatch) as caught:
        datasets.load_version("v0001")
    message = caught.value.message
    assert obj["key"] in message and obj["sha256"] in message
    assert hashlib.sha256(store.get_bytes(obj["key"])).hexdigest() in message
    manifest_key = store.list_keys("people/manifests/")[0]
    store.put_bytes(manifest_key, store.get_bytes(manifest_key).replace(b'"seed":0', b'"seed":1'))
    with pytest.raises(IntegrityMismatch, match="manifest"):
        datasets.load_version("v0001", verify=False)


# ---------------------------------------------------------------- erasure


def assert_gone(store: ObjectStore, erased: list[Record], *, subject_erased: bool = True) -> None:
    for key, data in stored_bytes(store).items():
        for record in erased:
            assert not subject_erased or record.subject_key.encode() not in data, key
            assert record.content["text"].encode() not in data, key


def test_erase_subject_rewrites_only_affected_slices_and_purges_old_version(object_store):
    datasets = DatasetStore(object_store, "people")
    original = datasets.create_version(CORPUS.records, shards=3, slices=2, seed=4)
    original.verify()  # reads every slice now, before erasure deletes some of them
    erased = subject_records(0)
    key = erased[0].subject_key

    report = datasets.erase(original.version_id, subject_keys=[key])

    assert (report.from_version, report.new_version) == ("v0001", "v0002")
    assert sorted(r["record_id"] for r in report.removed_records) == sorted(r.record_id for r in erased)
    assert all(r["subject_key"] == key for r in report.removed_records)
    affected = sorted({original.shard_slice_of(r.record_id) for r in erased})
    assert report.affected_slices == affected
    assert report.deleted_objects == sorted(original.object_key(*place) for place in affected)
    assert report.object_versions_destroyed >= len(affected)
    assert report.redacted_versions == ["v0001"] and not report.nothing_left_to_remove
    assert json.loads(json.dumps(report.to_json()))["new_version"] == "v0002"

    new = datasets.load_version("v0002")
    assert new.parent_id == "v0001" and datasets.latest().version_id == "v0002"
    erased_ids = {r.record_id for r in erased}
    assert {r.record_id for r in new.records()} == {r.record_id for r in CORPUS.records} - erased_ids
    for shard in range(3):
        for slice_index in range(2):
            before = [r for r in original.records_in(shard, slice_index) if r.record_id not in erased_ids]
            assert new.records_in(shard, slice_index) == before
            if (shard, slice_index) not in affected:
                assert new.object_key(shard, slice_index) == original.object_key(shard, slice_index)
    assert new.record_ids_of_subjects([key]) == []
    for obj_key in report.deleted_objects:
        assert not object_store.exists(obj_key)
    assert_gone(object_store, erased)

    old = datasets.load_version("v0001", verify=False)
    assert old.purged_by == ["v0002"]
    assert {e["content_hash"] for e in old.manifest["redacted_records"]} == {r.content_hash for r in erased}
    with pytest.raises(EngineError, match="purged") as caught:
        datasets.load_version("v0001")
    assert caught.value.code == "version_purged"
    with pytest.raises(EngineError, match="purged"):
        datasets.erase("v0001", subject_keys=[subject_records(1)[0].subject_key])

    again = datasets.erase("v0001", subject_keys=[key])
    assert again.nothing_left_to_remove and again.removed_records == [] and again.new_version is None
    assert again.erased_in == ["v0002"] and again.object_versions_destroyed == 0
    later = datasets.erase("v0002", subject_keys=[key])
    assert later.nothing_left_to_remove and datasets.list_versions() == ["v0001", "v0002"]


def test_erase_reaches_every_version_of_the_dataset(tmp_path):
    store = LocalObjectStore(tmp_path)
    datasets = DatasetStore(store, "people")
    datasets.create_version(CORPUS.records[:120], shards=2, slices=2, seed=0)
    datasets.create_version(CORPUS.records, shards=3, slices=1, seed=5)
    erased = subject_records(2)
    report = datasets.erase("v0002", record_ids=[r.record_id for r in erased[:3]] + [erased[3].record_id])
    assert report.redacted_versions == ["v0001", "v0002"]
    assert_gone(store, erased[:4], subject_erased=False)  # only 4 of the subject's 10 records
    assert len(datasets.load_version("v0003").record_ids_of_subjects([erased[0].subject_key])) == 6
    for version in ("v0001", "v0002"):
        manifest = datasets.load_version(version, verify=False).manifest
        assert not {e["record_id"] for e in manifest["records"]} & {r.record_id for r in erased[:4]}


def test_unknown_targets_are_named_and_change_nothing(object_store):
    datasets = DatasetStore(object_store, "people")
    datasets.create_version(CORPUS.records, shards=2, slices=2, seed=0)
    before = stored_bytes(object_store)
    real = subject_records(1)[0]
    with pytest.raises(InvalidInput) as caught:
        datasets.erase("v0001", subject_keys=[real.subject_key, "f" * 64], record_ids=["subj-9999-qa-1"])
    assert "f" * 64 in caught.value.message and "subj-9999-qa-1" in caught.value.message
    assert real.subject_key not in caught.value.message
    with pytest.raises(InvalidInput):
        datasets.erase("v0001")
    assert stored_bytes(object_store) == before


def test_general_records_cannot_be_erased_by_the_empty_subject_key(tmp_path):
    datasets = DatasetStore(LocalObjectStore(tmp_path), "general")
    datasets.create_version(generate_general_text(30, seed=0), shards=1, slices=2, seed=0)
    with pytest.raises(InvalidInput, match="non-empty"):
        datasets.erase("v0001", subject_keys=[""])
    report = datasets.erase("v0001", record_ids=["gen-00003"])
    assert [r["record_id"] for r in report.removed_records] == ["gen-00003"]


@pytest.mark.parametrize(
    "object_store, operation",
    [("local", "put_bytes"), ("local", "delete_permanently"), ("s3", "delete_permanently")],
    indirect=["object_store"],
)
def test_erasure_resumes_after_a_crash_at_any_point(object_store, operation):
    records = CORPUS.records[:60]  # six subjects keep the S3 variant quick
    datasets = DatasetStore(object_store, "people")
    datasets.create_version(records, shards=2, slices=2, seed=0)
    erased = subject_records(0) + subject_records(1)
    keys = sorted({r.subject_key for r in erased})
    pristine = stored_bytes(object_store)
    crash_points = 0
    while True:
        # Rebuild the starting state, then crash the erasure at the next point.
        for key in object_store.list_keys():
            object_store.delete_permanently(key)
        for key, data in pristine.items():
            object_store.put_bytes(key, data)
        crashing = DatasetStore(CrashingStore(object_store, operation, crash_points), "people")
        try:
            crashing.erase("v0001", subject_keys=keys)
        except SimulatedCrash:
            pass
        else:
            break
        report = datasets.erase("v0001", subject_keys=keys)
        assert report.new_version == "v0002" and not report.nothing_left_to_remove
        assert sorted(r["record_id"] for r in report.removed_records) == sorted(r.record_id for r in erased)
        assert {r["subject_key"] for r in report.removed_records} == set(keys)
        assert datasets.list_versions() == ["v0001", "v0002"]
        assert len(datasets.load_version("v0002").records()) == len(records) - len(erased)
        assert len(object_store.list_keys("people/manifests/")) == 2  # one revision per version
        assert_gone(object_store, erased)
        assert datasets.erase("v0001", subject_keys=keys).nothing_left_to_remove
        crash_points += 1
    assert crash_points >= 3  # the loop really crashed at several points


def test_orphan_objects_holding_erased_records_are_deleted(tmp_path):
    store = LocalObjectStore(tmp_path)
    datasets = DatasetStore(store, "people")
    datasets.create_version(CORPUS.records, shards=1, slices=1, seed=0)
    erased = subject_records(3)
    # A create_version that crashed before its manifest leaves objects no manifest names.
    orphan, _ = datasets.write_slice((0, 0), erased[:2])
    harmless, _ = datasets.write_slice((0, 0), subject_records(4)[:2])
    report = datasets.erase("v0001", subject_keys=[erased[0].subject_key])
    assert orphan["key"] in report.deleted_objects and not store.exists(orphan["key"])
    assert store.exists(harmless["key"])


# ---------------------------------------------------------------- command line


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_generate_show_list_and_erase(tmp_path, capsys, monkeypatch):
    store = str(tmp_path / "store")
    monkeypatch.setenv("ERASURE_SUBJECT_KEY_SECRET", SECRET)
    code, out, _ = run_cli(
        capsys,
        "generate",
        "--store",
        store,
        "--dataset",
        "people",
        "--size",
        "tiny",
        "--seed",
        "3",
        "--shards",
        "2",
        "--slices",
        "2",
    )
    assert code == 0
    summary = json.loads(out)
    assert summary["version_id"] == "v0001" and summary["records"] == len(CORPUS.records)
    assert summary["subjects"] == len(CORPUS.subjects)

    code, out, _ = run_cli(
        capsys,
        "generate",
        "--store",
        store,
        "--dataset",
        "rows",
        "--kind",
        "tabular",
        "--count",
        "5",
        "--secret-env",
        "ERASURE_SUBJECT_KEY_SECRET",
    )
    assert code == 0 and json.loads(out)["records"] == 20
    code, out, _ = run_cli(capsys, "datasets", "list", "--store", store)
    assert json.loads(out) == {"datasets": ["people", "rows"]}

    subject = CORPUS.subjects[0]
    code, out, _ = run_cli(capsys, "erase", "--store", store, "--dataset", "people", "--identifier", subject.identifier)
    assert code == 0
    report = json.loads(out)
    assert report["new_version"] == "v0002" and len(report["removed_records"]) == 10
    code, out, _ = run_cli(
        capsys,
        "erase",
        "--store",
        store,
        "--dataset",
        "people",
        "--version",
        "v0001",
        "--identifier",
        subject.identifier,
    )
    assert code == 0 and json.loads(out)["nothing_left_to_remove"] is True

    code, out, _ = run_cli(capsys, "datasets", "list", "--store", store, "--dataset", "people")
    versions = json.loads(out)["versions"]
    assert [v["version_id"] for v in versions] == ["v0001", "v0002"] and versions[0]["purged_by"] == ["v0002"]
    code, out, _ = run_cli(capsys, "datasets", "show", "--store", store, "--dataset", "people", "--verify")
    shown = json.loads(out)
    assert shown["version_id"] == "v0002" and shown["verified"] and shown["erased_records"] == 10

    code, _, err = run_cli(capsys, "erase", "--store", store, "--dataset", "people", "--record-id", "subj-0999-qa-1")
    assert code == 2 and "error [invalid_input]" in err and "subj-0999-qa-1" in err
    code, _, err = run_cli(capsys, "datasets", "show", "--store", store, "--dataset", "people", "--version", "v0042")
    assert code == 2 and "v0042" in err
    code, _, err = run_cli(
        capsys, "datasets", "show", "--store", store, "--dataset", "people", "--version", "v0001", "--verify"
    )
    assert code == 2 and "version_purged" in err


def test_cli_needs_the_secret_from_the_environment(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ERASURE_SUBJECT_KEY_SECRET", raising=False)
    code, _, err = run_cli(capsys, "generate", "--store", str(tmp_path), "--dataset", "people")
    assert code == 2 and "ERASURE_SUBJECT_KEY_SECRET" in err


def test_cli_reports_corrupt_objects_via_subprocess(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    version = DatasetStore(store, "people").create_version(CORPUS.records[:30], shards=1, slices=2, seed=0)
    key = version.manifest["objects"][0]["key"]
    store.put_bytes(key, b"tampered\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "erasure_engine",
            "datasets",
            "show",
            "--store",
            str(tmp_path / "store"),
            "--dataset",
            "people",
            "--verify",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "error [integrity_mismatch]" in result.stderr and key in result.stderr


def test_a_subjects_records_share_one_shard_and_slice(tmp_path):
    from erasure_engine.datagen import generate_subjects, records_from_subjects
    from erasure_engine.storage import LocalObjectStore

    records = records_from_subjects(generate_subjects(12, 3), "secret")
    version = DatasetStore(LocalObjectStore(tmp_path), "people").create_version(records, shards=4, slices=3, seed=5)
    by_subject: dict[str, set] = {}
    for record in records:
        by_subject.setdefault(record.subject_key, set()).add(version.shard_slice_of(record.record_id))
    assert all(len(places) == 1 for places in by_subject.values()), "one subject, one (shard, slice)"
    assert len({next(iter(places)) for places in by_subject.values()}) > 3, "subjects still spread over the layout"
