"""Reading and writing manifest revisions, each verified against the sha256 in its key."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from erasure_engine.datasets import layout
from erasure_engine.errors import IntegrityMismatch, ObjectNotFound
from erasure_engine.records import canonical_json
from erasure_engine.storage import ObjectStore

MANIFEST_FORMAT = "erasure-dataset-manifest/1"


@dataclass(frozen=True)
class StoredManifest:
    body: dict
    sha256: str
    revision: int
    key: str


def manifest_revisions(store: ObjectStore, dataset: str) -> dict[str, list[tuple[int, str]]]:
    """Version id -> [(revision, key), ...] sorted by revision, for every stored revision."""
    revisions: dict[str, list[tuple[int, str]]] = {}
    for key in store.list_keys(layout.manifests_prefix(dataset)):
        parsed = layout.parse_revision_key(dataset, key)
        if parsed:
            version, revision, _ = parsed
            revisions.setdefault(version, []).append((revision, key))
    for entries in revisions.values():
        entries.sort()
    return revisions


def read_manifest(store: ObjectStore, dataset: str, version: str) -> StoredManifest:
    layout.version_sequence(version)  # validates the id before it becomes part of a key
    keys = store.list_keys(f"{layout.manifests_prefix(dataset)}{version}/")
    parsed = sorted(
        (p[1], p[2], key) for key in keys if (p := layout.parse_revision_key(dataset, key)) and p[0] == version
    )
    if not parsed:
        raise ObjectNotFound(f"dataset {dataset!r} has no version {version!r} in {store.url()}")
    revision, expected, key = parsed[-1]
    data = store.get_bytes(key)
    actual = hashlib.sha256(data).hexdigest()
    if actual != expected:
        raise IntegrityMismatch(f"manifest {key}: sha256 {actual} != recorded {expected}")
    return StoredManifest(body=json.loads(data), sha256=actual, revision=revision, key=key)


def write_manifest(store: ObjectStore, dataset: str, body: dict, revision: int) -> StoredManifest:
    data = canonical_json(body)
    sha256 = hashlib.sha256(data).hexdigest()
    key = layout.revision_key(dataset, body["version_id"], revision, sha256)
    store.put_bytes(key, data)
    return StoredManifest(body=body, sha256=sha256, revision=revision, key=key)
