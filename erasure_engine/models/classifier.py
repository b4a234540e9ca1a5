"""A plain torch MLP for tabular records, saved like a `transformers` model
(config.json + model.safetensors) so every artifact has one shape."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from erasure_engine.errors import InvalidInput, ObjectNotFound

MODEL_TYPE = "mlp_classifier"
CLASSIFIER_SIZES: dict[str, list[int]] = {"tiny": [32], "small": [128, 64]}


@dataclass(frozen=True)
class ClassifierConfig:
    input_dim: int
    num_classes: int
    hidden_dims: list[int] = field(default_factory=lambda: [32])

    def __post_init__(self):
        if self.input_dim < 1 or self.num_classes < 2 or any(width < 1 for width in self.hidden_dims):
            raise InvalidInput(f"invalid classifier config {self}")

    @classmethod
    def for_size(cls, size: str, *, input_dim: int, num_classes: int) -> ClassifierConfig:
        if size not in CLASSIFIER_SIZES:
            raise InvalidInput(f"unknown classifier size {size!r}; choose one of {sorted(CLASSIFIER_SIZES)}")
        return cls(input_dim, num_classes, list(CLASSIFIER_SIZES[size]))

    def to_dict(self) -> dict:
        return {"model_type": MODEL_TYPE, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> ClassifierConfig:
        if data.get("model_type") != MODEL_TYPE:
            raise InvalidInput(f"not a classifier config: model_type {data.get('model_type')!r}")
        return cls(int(data["input_dim"]), int(data["num_classes"]), [int(w) for w in data["hidden_dims"]])


class MLPClassifier(nn.Module):
    """features -> logits; no dropout, so training is deterministic."""

    def __init__(self, config: ClassifierConfig):
        super().__init__()
        self.config = config
        layers: list[nn.Module] = []
        width = config.input_dim
        for hidden in config.hidden_dims:
            layers += [nn.Linear(width, hidden), nn.ReLU()]
            width = hidden
        layers.append(nn.Linear(width, config.num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.layers(features)

    def save_pretrained(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "config.json").write_text(json.dumps(self.config.to_dict(), indent=2, sort_keys=True))
        state = {name: tensor.detach().contiguous() for name, tensor in self.state_dict().items()}
        save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, directory: str | Path) -> MLPClassifier:
        directory = Path(directory)
        for name in ("config.json", "model.safetensors"):
            if not (directory / name).is_file():
                raise ObjectNotFound(f"no {name} in {directory}")
        config = ClassifierConfig.from_dict(json.loads((directory / "config.json").read_text()))
        model = cls(config)
        model.load_state_dict(load_file(str(directory / "model.safetensors")))
        return model


def build_classifier(config: ClassifierConfig, *, seed: int) -> MLPClassifier:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return MLPClassifier(config)
