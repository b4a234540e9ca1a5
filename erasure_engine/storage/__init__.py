"""Object storage behind one interface: the local filesystem or any S3 endpoint."""

from erasure_engine.storage.base import ObjectInfo, ObjectStore, validate_key
from erasure_engine.storage.factory import download_prefix, local_directory, object_store_from_url
from erasure_engine.storage.local import LocalObjectStore
from erasure_engine.storage.s3 import S3ObjectStore

__all__ = [
    "ObjectInfo",
    "ObjectStore",
    "LocalObjectStore",
    "S3ObjectStore",
    "download_prefix",
    "local_directory",
    "object_store_from_url",
    "validate_key",
]
