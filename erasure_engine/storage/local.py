"""Filesystem backend: the embedded default and local development."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from erasure_engine.errors import ObjectNotFound
from erasure_engine.storage.base import ObjectInfo, ObjectStore, sha256_hex, validate_key


class LocalObjectStore(ObjectStore):
    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.root / validate_key(key)

    def put_bytes(self, key: str, data: bytes) -> ObjectInfo:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename so a reader never sees half an object, and fsync so
        # "stored" means durable before anyone is told.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return ObjectInfo(key=key, size=len(data), sha256=sha256_hex(data))

    def get_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise ObjectNotFound(f"object {key!r} not found in {self.url()}") from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list_keys(self, prefix: str = "") -> list[str]:
        keys = []
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".tmp-"):
                key = path.relative_to(self.root).as_posix()
                if key.startswith(prefix):
                    keys.append(key)
        return sorted(keys)

    def list_versions(self, prefix: str = "") -> list[tuple[str, str | None]]:
        return [(key, None) for key in self.list_keys(prefix)]

    def delete_permanently(self, key: str) -> int:
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return 0
        # Prune empty folders so a deleted dataset leaves no named trace behind.
        parent = path.parent
        while parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent
        return 1

    def url(self, key: str = "") -> str:
        return (self.root / key).as_uri() if key else self.root.as_uri()
