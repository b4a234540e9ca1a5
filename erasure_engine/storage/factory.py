"""Build an object store from a URL (file:///path or s3://bucket/prefix), and bring a prefix's
files to a local folder."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlparse

from erasure_engine.errors import InvalidInput, ObjectNotFound
from erasure_engine.storage.base import ObjectStore


def object_store_from_url(url: str, *, endpoint_url: str | None = None, region_name: str | None = None) -> ObjectStore:
    from erasure_engine.storage.local import LocalObjectStore
    from erasure_engine.storage.s3 import S3ObjectStore

    parsed = urlparse(url)
    if parsed.scheme == "file":
        return LocalObjectStore(Path(parsed.path))
    if parsed.scheme == "" and url:
        return LocalObjectStore(Path(url))
    if parsed.scheme == "s3":
        if not parsed.netloc:
            raise InvalidInput(f"S3 URL {url!r} names no bucket")
        return S3ObjectStore(parsed.netloc, parsed.path.lstrip("/"), endpoint_url=endpoint_url, region_name=region_name)
    raise InvalidInput(f"unsupported object store URL {url!r}: use file:///path or s3://bucket/prefix")


def download_prefix(url: str, target: Path, *, endpoint_url: str | None = None) -> Path:
    """Every object under an s3:// (or file://) prefix, downloaded into `target` with its relative
    path; ObjectNotFound when the prefix holds nothing."""
    store = object_store_from_url(url, endpoint_url=endpoint_url)
    keys = store.list_keys("")
    if not keys:
        raise ObjectNotFound(f"no files under {url}")
    for key in keys:
        store.get_file(key, target / key)
    return target


def local_directory(location: str, scratch: Path, *, endpoint_url: str | None = None) -> Path:
    """A local directory holding `location`'s files: the path itself, or an s3:// prefix downloaded
    into a fresh folder under `scratch` (ObjectNotFound when either is missing)."""
    if location.startswith("s3://"):
        return download_prefix(location, Path(tempfile.mkdtemp(dir=scratch)), endpoint_url=endpoint_url)
    path = Path(location.removeprefix("file://"))
    if not path.is_dir():
        raise ObjectNotFound(f"directory {location} does not exist")
    return path
