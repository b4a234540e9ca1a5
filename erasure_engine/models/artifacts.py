"""Model artifacts: weight digests, directories of files with sha256, and their round trip
through an ObjectStore (upload under a prefix, download + verify, then from_pretrained)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from erasure_engine.errors import IntegrityMismatch, InvalidInput
from erasure_engine.storage import ObjectStore


def _state(model_or_state: nn.Module | Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor]:
    return model_or_state.state_dict() if isinstance(model_or_state, nn.Module) else model_or_state


def _tensor_bytes(tensor: torch.Tensor) -> bytes:
    # Raw little-endian storage bytes; viewing as uint8 also covers dtypes numpy lacks (bf16).
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes()


def tensor_digests(model_or_state: nn.Module | Mapping[str, torch.Tensor]) -> dict[str, str]:
    """sha256 of every tensor's bytes, by name."""
    return {name: hashlib.sha256(_tensor_bytes(t)).hexdigest() for name, t in sorted(_state(model_or_state).items())}


def weights_digest(model_or_state: nn.Module | Mapping[str, torch.Tensor]) -> str:
    """One stable digest over sorted tensor names, dtypes, shapes and bytes: equal iff bit-identical."""
    digest = hashlib.sha256()
    for name, tensor in sorted(_state(model_or_state).items()):
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(_tensor_bytes(tensor))
    return digest.hexdigest()


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_digests(directory: str | Path) -> dict[str, str]:
    """sha256 of every file under `directory`, by slash-separated relative path."""
    root = Path(directory)
    return {path.relative_to(root).as_posix(): file_sha256(path) for path in sorted(root.rglob("*")) if path.is_file()}


@dataclass(frozen=True)
class Artifact:
    """A directory stored under `prefix`: its files' sha256 and the digest of the weights in it."""

    prefix: str
    files: dict[str, str] = field(hash=False)
    weights_digest: str = ""

    def to_dict(self) -> dict:
        return {"prefix": self.prefix, "files": dict(self.files), "weights_digest": self.weights_digest}

    @classmethod
    def from_dict(cls, data: dict) -> Artifact:
        try:
            return cls(data["prefix"], dict(data["files"]), data.get("weights_digest", ""))
        except (KeyError, TypeError) as error:
            raise InvalidInput(f"malformed artifact record: missing {error}") from None


def upload_dir(store: ObjectStore, prefix: str, directory: str | Path, *, weights_digest: str = "") -> Artifact:
    """Put every file of `directory` under `prefix/`; return what was stored with its hashes."""
    prefix = prefix.strip("/")
    files = file_digests(directory)
    if not files:
        raise InvalidInput(f"nothing to upload: {directory} holds no files")
    for relative in files:
        store.put_file(f"{prefix}/{relative}", Path(directory) / relative)
    return Artifact(prefix, files, weights_digest)


def download_dir(store: ObjectStore, artifact: Artifact, directory: str | Path) -> Path:
    """Fetch an artifact into `directory`, checking every file against its recorded sha256.

    Raises ObjectNotFound (from the store, naming the key) or IntegrityMismatch."""
    target = Path(directory)
    for relative, expected in sorted(artifact.files.items()):
        key = f"{artifact.prefix}/{relative}"
        data = store.get_bytes(key)
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise IntegrityMismatch(
                f"artifact file {key}: sha256 {actual} does not match the recorded {expected}",
                details={"key": key, "actual": actual, "expected": expected},
            )
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return target


def verify_weights(model_or_state: nn.Module | Mapping[str, torch.Tensor], expected: str, *, what: str) -> None:
    actual = weights_digest(model_or_state)
    if expected and actual != expected:
        raise IntegrityMismatch(
            f"{what}: weights digest {actual} does not match the recorded {expected}",
            details={"what": what, "actual": actual, "expected": expected},
        )
