"""The object store contract shared by every backend."""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass
from pathlib import Path

from erasure_engine.errors import InvalidInput


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    sha256: str
    version_id: str | None = None


def validate_key(key: str) -> str:
    """Keys are relative, slash-separated and never climb out of the store."""
    if not isinstance(key, str) or not key or key.startswith("/") or "\\" in key:
        raise InvalidInput(f"invalid object key {key!r}: must be a non-empty relative path")
    parts = key.split("/")
    if any(part in ("", ".", "..") for part in parts):
        raise InvalidInput(f"invalid object key {key!r}: empty, '.' or '..' segment")
    return key


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ObjectStore(abc.ABC):
    """Bytes under keys. Deleting is permanent: every stored version goes."""

    @abc.abstractmethod
    def put_bytes(self, key: str, data: bytes) -> ObjectInfo: ...

    @abc.abstractmethod
    def get_bytes(self, key: str) -> bytes:
        """Raise ObjectNotFound when the key is absent."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool: ...

    @abc.abstractmethod
    def list_keys(self, prefix: str = "") -> list[str]:
        """Current keys under a prefix, sorted."""

    @abc.abstractmethod
    def list_versions(self, prefix: str = "") -> list[tuple[str, str | None]]:
        """Every stored version (and delete marker) under a prefix as (key, version id)."""

    @abc.abstractmethod
    def delete_permanently(self, key: str) -> int:
        """Remove the key and all its versions; return how many versions were destroyed."""

    @abc.abstractmethod
    def url(self, key: str = "") -> str:
        """A URL naming the key, e.g. for lineage records."""

    def put_bytes_retained(self, key: str, data: bytes, *, retain_until) -> tuple[ObjectInfo, bool]:
        """Write an object that must not be altered or deleted before `retain_until`.

        Returns (info, enforced): enforced is True only when the backend itself guarantees the
        retention (S3 Object Lock in compliance mode). Other backends store it plainly."""
        return self.put_bytes(key, data), False

    def delete_prefix_permanently(self, prefix: str) -> int:
        removed = 0
        for key in sorted({key for key, _ in self.list_versions(prefix)}):
            removed += self.delete_permanently(key)
        return removed

    def put_file(self, key: str, path: str | Path) -> ObjectInfo:
        return self.put_bytes(key, Path(path).read_bytes())

    def get_file(self, key: str, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.get_bytes(key))
        return target

    def check_health(self) -> None:
        """Raise if the store cannot be written and read back."""
        probe = "_health/probe"
        self.put_bytes(probe, b"ok")
        if self.get_bytes(probe) != b"ok":
            raise OSError("object store returned different bytes than written")
