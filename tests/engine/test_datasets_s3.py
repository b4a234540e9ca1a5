"""Erasure on a versioned S3 bucket (moto server, real boto3), proven through the S3 API:
no object version or delete marker of an object that held erased records remains, and no
remaining bytes contain the erased text or subject key."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from erasure_engine.cli import main
from erasure_engine.datagen import build_corpus
from erasure_engine.datasets import DatasetStore
from erasure_engine.storage import S3ObjectStore

SECRET = "s3-dataset-secret"
CORPUS = build_corpus("tiny", seed=8, secret=SECRET)
PREFIX = "datasets"


def subject_records(index: int):
    return [r for r in CORPUS.records if r.record_id.startswith(f"subj-{index:04d}-")]


def all_object_versions(client, bucket: str) -> tuple[list[dict], list[dict]]:
    versions, markers = [], []
    for page in client.get_paginator("list_object_versions").paginate(Bucket=bucket):
        versions.extend(page.get("Versions", []))
        markers.extend(page.get("DeleteMarkers", []))
    return versions, markers


def assert_erased_everywhere(client, bucket: str, deleted_objects: list[str], erased) -> None:
    versions, markers = all_object_versions(client, bucket)
    gone = {f"{PREFIX}/{key}" for key in deleted_objects}
    assert gone and not gone & {v["Key"] for v in versions}
    assert not gone & {m["Key"] for m in markers}
    assert markers == []  # permanent deletion never leaves a delete marker behind
    needles = [r.subject_key.encode() for r in erased] + [r.content["text"].encode() for r in erased]
    for version in versions:  # every stored version, not only the current ones
        body = client.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
        assert not any(needle in body for needle in needles), version["Key"]


def test_erasure_destroys_every_object_version_and_delete_marker(s3_client, s3_bucket):
    store = S3ObjectStore(s3_bucket, PREFIX, client=s3_client)
    datasets = DatasetStore(store, "people")
    first = datasets.create_version(CORPUS.records, shards=2, slices=2, seed=0)
    datasets.create_version(CORPUS.records, shards=3, slices=1, seed=1)
    erased = subject_records(0)
    key = erased[0].subject_key
    held = sorted({first.object_key(*first.shard_slice_of(r.record_id)) for r in erased})
    # Older S3 history of objects that hold the subject: an extra version, and a delete marker.
    store.put_bytes(held[0], store.get_bytes(held[0]))
    s3_client.delete_object(Bucket=s3_bucket, Key=f"{PREFIX}/{held[-1]}")
    # An object no manifest names (a crashed upload), hidden behind a delete marker.
    orphan, _ = datasets.write_slice((0, 0), erased[:3])
    s3_client.delete_object(Bucket=s3_bucket, Key=f"{PREFIX}/{orphan['key']}")
    versions_before, markers_before = all_object_versions(s3_client, s3_bucket)
    assert len(markers_before) == 2

    report = datasets.erase("v0002", subject_keys=[key])

    assert report.new_version == "v0003" and len(report.removed_records) == len(erased)
    assert set(held) | {orphan["key"]} <= set(report.deleted_objects)
    assert report.redacted_versions == ["v0001", "v0002"]
    assert_erased_everywhere(s3_client, s3_bucket, report.deleted_objects, erased)
    gone = {f"{PREFIX}/{key}" for key in report.deleted_objects}
    held_versions = [v for v in versions_before + markers_before if v["Key"] in gone]
    superseded_manifest_revisions = 2  # v0001 and v0002 were each rewritten once, redacted
    assert report.object_versions_destroyed == len(held_versions) + superseded_manifest_revisions
    assert len(held_versions) > len(report.deleted_objects)  # the extra version and the marker went too
    remaining = datasets.load_version("v0003")
    assert {r.record_id for r in remaining.records()} == {r.record_id for r in CORPUS.records} - {
        r.record_id for r in erased
    }


class CrashAfterDeletes(S3ObjectStore):
    """Dies before its n-th permanent deletion, as a worker killed mid-erasure would."""

    def __init__(self, *args, deletions_allowed: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.deletions_allowed = deletions_allowed

    def delete_permanently(self, key: str) -> int:
        if self.deletions_allowed == 0:
            raise RuntimeError("simulated crash")
        self.deletions_allowed -= 1
        return super().delete_permanently(key)


def test_resumed_erasure_leaves_nothing_behind_on_s3(s3_client, s3_bucket):
    datasets = DatasetStore(S3ObjectStore(s3_bucket, PREFIX, client=s3_client), "people")
    datasets.create_version(CORPUS.records[:80], shards=2, slices=2, seed=0)
    erased = subject_records(1) + subject_records(2)
    keys = sorted({r.subject_key for r in erased})
    crashing = DatasetStore(CrashAfterDeletes(s3_bucket, PREFIX, client=s3_client, deletions_allowed=2), "people")
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.erase("v0001", subject_keys=keys)

    report = datasets.erase("v0001", subject_keys=keys)

    assert report.resumed and report.new_version == "v0002"
    assert len(report.removed_records) == len(erased)
    assert_erased_everywhere(s3_client, s3_bucket, report.deleted_objects, erased)
    assert datasets.erase("v0001", subject_keys=keys).nothing_left_to_remove
    assert datasets.list_versions() == ["v0001", "v0002"]


def test_cli_on_s3_generate_then_erase_by_identifier(s3_endpoint, s3_client, s3_bucket, capsys, monkeypatch):
    monkeypatch.setenv("MY_SECRET", SECRET)
    url = f"s3://{s3_bucket}/{PREFIX}"
    assert (
        main(
            [
                "generate",
                "--store",
                url,
                "--endpoint-url",
                s3_endpoint,
                "--dataset",
                "people",
                "--seed",
                "8",
                "--shards",
                "2",
                "--slices",
                "2",
                "--secret-env",
                "MY_SECRET",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["records"] == len(CORPUS.records)
    subject = CORPUS.subjects[3]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "erasure_engine",
            "erase",
            "--store",
            url,
            "--endpoint-url",
            s3_endpoint,
            "--dataset",
            "people",
            "--identifier",
            subject.identifier,
            "--secret-env",
            "MY_SECRET",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["new_version"] == "v0002" and len(report["removed_records"]) == 10
    assert_erased_everywhere(s3_client, s3_bucket, report["deleted_objects"], subject_records(3))
