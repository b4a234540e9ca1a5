"""Build an object store from a URL: file:///path or s3://bucket/prefix."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from erasure_engine.errors import InvalidInput
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
