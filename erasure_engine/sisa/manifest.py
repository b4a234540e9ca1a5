"""Model version manifests (JSON) and where a model's objects live in the store."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from erasure_engine.errors import InvalidInput, ObjectNotFound
from erasure_engine.models import Artifact
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.storage import ObjectStore

MODEL_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
MANIFEST_FORMAT = 1


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not MODEL_NAME.match(name):
        raise InvalidInput(f"invalid model name {name!r}: lowercase letters, digits, '.', '_' or '-'")
    return name


def version_prefix(model_name: str, version_id: str) -> str:
    return f"models/{check_model_name(model_name)}/versions/{version_id}"


def checkpoint_prefix(model_name: str, version_id: str, shard: int, slice_: int) -> str:
    return f"{version_prefix(model_name, version_id)}/shards/{shard:03d}/slices/{slice_:03d}"


@dataclass
class ModelVersion:
    """One trained (or unlearned) model version. `checkpoints[shard][slice]` may point at a
    parent version's objects: an unlearned version shares everything it did not retrain."""

    model_name: str
    version_id: str
    parent_version_id: str | None
    created_by: str  # "train" | "unlearn-exact" | "deactivate-exact"
    kind: str
    dataset: dict  # {"version_id", "manifest_sha256"}
    shards: int
    slices: int
    training: SisaConfig
    model_config: dict
    assets: dict[str, Artifact]  # "tokenizer", "base"
    checkpoints: list[list[Artifact]]
    data_listing: list[list[dict]]  # [shard][slice] -> {"count", "sha256"} of the records trained on
    cost: dict
    unlearning: dict | None = None
    environment: dict = field(default_factory=dict)
    format: int = MANIFEST_FORMAT

    @property
    def seed(self) -> int:
        return self.training.seed

    @property
    def shard_digests(self) -> list[str]:
        """Final weights digest per shard (adapter weights only for lm-lora); "" for a shard
        dropped from the ensemble (no checkpoint active)."""
        return [shard[-1].weights_digest if shard else "" for shard in self.checkpoints]

    def active_slices(self, shard: int) -> int:
        """Slices 0..n-1 of the shard are in its active model: fewer than R after deactivation."""
        return len(self.checkpoints[shard])

    @property
    def shard_weights(self) -> list[int]:
        """Records each shard's active model was trained on: its weight in the ensemble (0 = left out)."""
        return [
            sum(int(entry["count"]) for entry in self.data_listing[shard][: self.active_slices(shard)])
            for shard in range(self.shards)
        ]

    @property
    def active_shards(self) -> list[int]:
        """Shards that speak in the ensemble: an active model trained on at least one record."""
        return [shard for shard, weight in enumerate(self.shard_weights) if weight > 0]

    def final_checkpoint(self, shard: int) -> Artifact:
        if not self.checkpoints[shard]:
            raise InvalidInput(f"shard {shard} of {self.model_name}/{self.version_id} is dropped from the ensemble")
        return self.checkpoints[shard][-1]

    def to_dict(self) -> dict:
        return {
            "format": self.format,
            "model_name": self.model_name,
            "version_id": self.version_id,
            "parent_version_id": self.parent_version_id,
            "created_by": self.created_by,
            "kind": self.kind,
            "dataset": self.dataset,
            "shards": self.shards,
            "slices": self.slices,
            "seed": self.seed,
            "training": self.training.to_dict(),
            "model_config": self.model_config,
            "assets": {name: artifact.to_dict() for name, artifact in sorted(self.assets.items())},
            "shard_digests": self.shard_digests,
            "shard_weights": self.shard_weights,
            "checkpoints": [[artifact.to_dict() for artifact in shard] for shard in self.checkpoints],
            "data_listing": self.data_listing,
            "cost": self.cost,
            "unlearning": self.unlearning,
            "environment": self.environment,
        }

    @classmethod
    def from_dict(cls, data: dict) -> ModelVersion:
        try:
            return cls(
                model_name=data["model_name"],
                version_id=data["version_id"],
                parent_version_id=data["parent_version_id"],
                created_by=data["created_by"],
                kind=data["kind"],
                dataset=data["dataset"],
                shards=int(data["shards"]),
                slices=int(data["slices"]),
                training=SisaConfig.from_dict(data["training"]),
                model_config=data["model_config"],
                assets={name: Artifact.from_dict(value) for name, value in data["assets"].items()},
                checkpoints=[[Artifact.from_dict(value) for value in shard] for shard in data["checkpoints"]],
                data_listing=data["data_listing"],
                cost=data["cost"],
                unlearning=data.get("unlearning"),
                environment=data.get("environment", {}),
                format=int(data.get("format", MANIFEST_FORMAT)),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(f"malformed model version manifest: {error!r}") from None


class ModelRegistry:
    """Model version manifests in an ObjectStore, under models/<name>/versions/<id>/manifest.json."""

    def __init__(self, store: ObjectStore):
        self.store = store

    def _key(self, model_name: str, version_id: str) -> str:
        return f"{version_prefix(model_name, version_id)}/manifest.json"

    def save(self, version: ModelVersion) -> None:
        body = json.dumps(version.to_dict(), indent=2, sort_keys=True).encode("utf-8")
        self.store.put_bytes(self._key(version.model_name, version.version_id), body)

    def exists(self, model_name: str, version_id: str) -> bool:
        return self.store.exists(self._key(model_name, version_id))

    def load(self, model_name: str, version_id: str) -> ModelVersion:
        key = self._key(model_name, version_id)
        try:
            data = json.loads(self.store.get_bytes(key))
        except ObjectNotFound:
            raise ObjectNotFound(f"model version {model_name}/{version_id} not found (no {key})") from None
        return ModelVersion.from_dict(data)

    def model_names(self) -> list[str]:
        return sorted({key.split("/")[1] for key in self.store.list_keys("models/") if key.endswith("/manifest.json")})

    def version_ids(self, model_name: str) -> list[str]:
        prefix = f"models/{check_model_name(model_name)}/versions/"
        return sorted(
            key[len(prefix) :].split("/")[0]
            for key in self.store.list_keys(prefix)
            if key.count("/") == prefix.count("/") + 1 and key.endswith("/manifest.json")
        )
