"""Object keys of a dataset inside an ObjectStore.

    <dataset>/objects/<sha256>.jsonl                       slice contents, content-addressed
    <dataset>/manifests/<version>/r<NNNN>-<sha256>.json    manifest revisions

Content-addressed slice objects let versions share untouched slices. Each manifest revision
is written once under a new key (redaction writes the next revision, then deletes the older
ones), so no S3 object version of an unredacted manifest survives a purge.
"""

from __future__ import annotations

import re

from erasure_engine.errors import InvalidInput

_DATASET_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_VERSION_ID = re.compile(r"^v(\d{4,})$")
_REVISION = re.compile(r"^r(\d{4,})-([0-9a-f]{64})\.json$")


def check_dataset_name(name: str) -> str:
    if not isinstance(name, str) or not _DATASET_NAME.match(name):
        raise InvalidInput(f"invalid dataset name {name!r}: use lowercase letters, digits, '.', '_', '-'")
    return name


def version_id(sequence: int) -> str:
    return f"v{sequence:04d}"


def version_sequence(version: str) -> int:
    match = _VERSION_ID.match(version) if isinstance(version, str) else None
    if not match:
        raise InvalidInput(f"invalid version id {version!r}: expected e.g. 'v0001'")
    return int(match.group(1))


def object_key(dataset: str, sha256: str) -> str:
    return f"{dataset}/objects/{sha256}.jsonl"


def objects_prefix(dataset: str) -> str:
    return f"{dataset}/objects/"


def manifests_prefix(dataset: str) -> str:
    return f"{dataset}/manifests/"


def revision_key(dataset: str, version: str, revision: int, sha256: str) -> str:
    return f"{manifests_prefix(dataset)}{version}/r{revision:04d}-{sha256}.json"


def parse_revision_key(dataset: str, key: str) -> tuple[str, int, str] | None:
    """(version id, revision, sha256) of a manifest revision key, None for anything else."""
    rest = key[len(manifests_prefix(dataset)) :] if key.startswith(manifests_prefix(dataset)) else ""
    version, _, name = rest.partition("/")
    match = _REVISION.match(name)
    if not match or not _VERSION_ID.match(version):
        return None
    return version, int(match.group(1)), match.group(2)
