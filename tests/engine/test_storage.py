"""The object store contract, on the filesystem and on a real S3 API (moto server)."""

import datetime

import pytest

from erasure_engine.errors import EngineError, InvalidInput, ObjectNotFound
from erasure_engine.storage import LocalObjectStore, S3ObjectStore, object_store_from_url


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path):
    if request.param == "local":
        return LocalObjectStore(tmp_path / "objects")
    client = request.getfixturevalue("s3_client")
    return S3ObjectStore(request.getfixturevalue("s3_bucket"), "unit", client=client)


def test_put_get_list_and_delete(store):
    info = store.put_bytes("a/b.json", b"{}")
    assert info.size == 2 and len(info.sha256) == 64
    assert store.get_bytes("a/b.json") == b"{}"
    assert store.exists("a/b.json") and not store.exists("a/c.json")
    store.put_bytes("a/c.json", b"1")
    assert store.list_keys("a/") == ["a/b.json", "a/c.json"]
    assert store.delete_permanently("a/b.json") >= 1
    assert store.list_keys() == ["a/c.json"]
    with pytest.raises(ObjectNotFound):
        store.get_bytes("a/b.json")


def test_delete_destroys_every_version(store):
    for body in (b"one", b"two", b"three"):
        store.put_bytes("subject/data.jsonl", body)
    store.delete_permanently("subject/data.jsonl")
    assert [key for key, _ in store.list_versions("subject/")] == []


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "a\\b"])
def test_keys_may_not_escape(tmp_path, key):
    with pytest.raises(InvalidInput):
        LocalObjectStore(tmp_path).put_bytes(key, b"x")


def test_url_factory(tmp_path):
    assert isinstance(object_store_from_url(tmp_path.as_uri()), LocalObjectStore)
    with pytest.raises(InvalidInput, match="unsupported"):
        object_store_from_url("ftp://host/x")
    with pytest.raises(InvalidInput, match="no bucket"):
        object_store_from_url("s3:///prefix")


def test_retained_objects_are_locked_where_s3_supports_it(s3_client):
    s3_client.create_bucket(Bucket="anchors-locked", ObjectLockEnabledForBucket=True)
    locked = S3ObjectStore("anchors-locked", "", client=s3_client)
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    _, enforced = locked.put_bytes_retained("head.json", b"signed", retain_until=until)
    assert enforced
    with pytest.raises(EngineError, match="refused to delete"):
        locked.delete_permanently("head.json")
    assert locked.get_bytes("head.json") == b"signed"


def test_retention_is_reported_as_not_enforced_without_object_lock(s3_bucket, s3_client, tmp_path):
    until = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    _, enforced = S3ObjectStore(s3_bucket, "", client=s3_client).put_bytes_retained("h.json", b"x", retain_until=until)
    assert not enforced
    _, enforced = LocalObjectStore(tmp_path).put_bytes_retained("h.json", b"x", retain_until=until)
    assert not enforced


def test_deleting_an_absent_key_leaves_no_trace(store):
    assert store.delete_permanently("never/was.json") == 0
    assert store.list_versions("never/") == []
