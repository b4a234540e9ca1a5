"""The anchor store: where signed tree heads are published, and how a verifier reads them back.

Publishing uses its own identity (settings.AUDIT_ANCHOR_ACCESS_KEY_ID) whose policy may put
objects but never delete them (deploy/minio/anchor-policy.json). Reading goes through every
object *version*, delete markers included: a hidden or overwritten anchor stays visible.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import urlparse

import boto3
from django.conf import settings

from erasure_platform.core.engine import ObjectStore, S3ObjectStore, object_store_from_url


@dataclass(frozen=True)
class AnchorVersion:
    key: str
    version_id: str | None
    delete_marker: bool
    data: bytes | None


@lru_cache(maxsize=4)
def _anchor_store(url: str, endpoint_url: str | None, access_key_id: str | None, secret: str | None) -> ObjectStore:
    parsed = urlparse(url)
    if parsed.scheme == "s3" and access_key_id:
        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            aws_access_key_id=access_key_id,
            aws_secret_access_key=secret,
        )
        return S3ObjectStore(parsed.netloc, parsed.path.lstrip("/"), client=client)
    return object_store_from_url(url, endpoint_url=endpoint_url)


def anchor_object_store() -> ObjectStore:
    return _anchor_store(
        settings.AUDIT_ANCHOR_STORE_URL,
        settings.AUDIT_ANCHOR_ENDPOINT_URL,
        settings.AUDIT_ANCHOR_ACCESS_KEY_ID,
        settings.AUDIT_ANCHOR_SECRET_ACCESS_KEY,
    )


def anchor_versions(store: ObjectStore, prefix: str) -> list[AnchorVersion]:
    """Every version of every object under `prefix`, oldest first per key, delete markers included."""
    if not isinstance(store, S3ObjectStore):
        # A filesystem store has no versions: what is there is all there is.
        return [AnchorVersion(key, None, False, store.get_bytes(key)) for key in store.list_keys(prefix)]
    found = []
    paginator = store.client.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=store.bucket, Prefix=store.prefix + prefix):
        for item in page.get("Versions", []):
            body = store.client.get_object(Bucket=store.bucket, Key=item["Key"], VersionId=item["VersionId"])[
                "Body"
            ].read()
            found.append(
                (item["LastModified"], AnchorVersion(store._relative(item["Key"]), item["VersionId"], False, body))
            )
        for item in page.get("DeleteMarkers", []):
            found.append(
                (item["LastModified"], AnchorVersion(store._relative(item["Key"]), item["VersionId"], True, None))
            )
    found.sort(key=lambda pair: (pair[1].key, pair[0]))
    return [version for _, version in found]
