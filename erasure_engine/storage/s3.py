"""S3 backend (boto3). Works against AWS, MinIO, Ceph or moto's server mode."""

from __future__ import annotations

from erasure_engine.errors import EngineError, ObjectNotFound
from erasure_engine.storage.base import ObjectInfo, ObjectStore, sha256_hex, validate_key


class S3ObjectStore(ObjectStore):
    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region_name: str | None = None,
        client=None,
        create_bucket: bool = False,
        versioning: bool = False,
    ):
        import boto3  # imported here so the local backend never needs boto3 loaded

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client = client or boto3.client("s3", endpoint_url=endpoint_url, region_name=region_name)
        if create_bucket:
            self.ensure_bucket(versioning=versioning)

    def ensure_bucket(self, *, versioning: bool = False) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self.client.create_bucket(Bucket=self.bucket)
        if versioning:
            self.client.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})

    def _full(self, key: str) -> str:
        return self.prefix + validate_key(key)

    def _relative(self, full_key: str) -> str:
        return full_key[len(self.prefix) :]

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        response = self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data)
        return ObjectInfo(key=key, size=len(data), sha256=sha256_hex(data), version_id=response.get("VersionId"))

    def put_bytes_retained(self, key: str, data: bytes, *, retain_until) -> tuple[ObjectInfo, bool]:
        from botocore.exceptions import ClientError

        try:
            response = self.client.put_object(
                Bucket=self.bucket,
                Key=self._full(key),
                Body=data,
                ObjectLockMode="COMPLIANCE",
                ObjectLockRetainUntilDate=retain_until,
            )
        except ClientError as error:
            # Buckets created without Object Lock refuse the header: store plainly and say so.
            if error.response.get("Error", {}).get("Code") in (
                "InvalidRequest",
                "InvalidArgument",
                "ObjectLockConfigurationNotFoundError",
            ):
                return self.put_bytes(key, data), False
            raise
        info = ObjectInfo(key=key, size=len(data), sha256=sha256_hex(data), version_id=response.get("VersionId"))
        return info, True

    def get_bytes(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except self.client.exceptions.NoSuchKey:
            raise ObjectNotFound(f"object {key!r} not found in {self.url()}") from None
        return response["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    def list_keys(self, prefix: str = "") -> list[str]:
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            keys.extend(self._relative(item["Key"]) for item in page.get("Contents", []))
        return sorted(keys)

    def list_versions(self, prefix: str = "") -> list[tuple[str, str | None]]:
        versions = []
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + prefix):
            for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
                versions.append((self._relative(item["Key"]), item.get("VersionId")))
        return sorted(versions, key=lambda pair: (pair[0], pair[1] or ""))

    def delete_permanently(self, key: str) -> int:
        full = self._full(key)
        # A plain DeleteObject on a versioned bucket only adds a delete marker and
        # keeps the data; erasure must destroy every version explicitly.
        targets = [
            {"Key": item_key, "VersionId": version}
            for item_key, version in ((self.prefix + k, v) for k, v in self.list_versions(key))
            if item_key == full and version not in (None, "null")
        ]
        removed = 0
        for start in range(0, len(targets), 1000):
            batch = targets[start : start + 1000]
            response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            errors = response.get("Errors", [])
            if errors:
                # Erasure must never report success for a version that is still there
                # (e.g. under Object Lock retention).
                first = errors[0]
                raise EngineError(
                    f"S3 refused to delete {len(errors)} version(s) of {key!r}: "
                    f"{first.get('Code')}: {first.get('Message')}",
                    code="delete_refused",
                )
            removed += len(batch)
        if self.exists(key):
            # Unversioned bucket (version id "null"): a plain delete removes the object.
            # Never issued for an absent key: on a versioned bucket it would add a delete marker.
            self.client.delete_object(Bucket=self.bucket, Key=full)
            removed += 1
        return removed

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self.prefix}{key}"
