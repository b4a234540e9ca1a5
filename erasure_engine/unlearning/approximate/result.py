"""What an unlearning run produces: the candidate model and everything a job record keeps about it."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from erasure_engine.errors import InvalidInput

RESULT_FILE = "unlearning_result.json"


@dataclass
class UnlearningResult:
    model: nn.Module  # the candidate; a peft model when `is_adapter`
    method: str
    params: dict  # every parameter actually used, defaults filled in
    seed: int
    steps: int
    wall_seconds: float
    log: list[dict] = field(default_factory=list)  # short per-step log: forget loss, retain loss
    is_adapter: bool = False
    model_kind: str = ""  # "causal_lm" or "classifier"

    def merged_model(self) -> nn.Module:
        """A plain model for evaluation: the adapter merged into a copy of the base (or the model itself)."""
        if not self.is_adapter:
            return self.model
        return copy.deepcopy(self.model).merge_and_unload()

    def to_json(self) -> dict:
        return {
            "method": self.method,
            "params": self.params,
            "seed": self.seed,
            "steps": self.steps,
            "wall_seconds": round(self.wall_seconds, 4),
            "is_adapter": self.is_adapter,
            "model_kind": self.model_kind,
            "log": self.log,
        }

    def save(self, directory: str | Path) -> Path:
        """Write the candidate with save_pretrained, plus the result JSON.

        Layout: `model/` (full candidate; merged when adapter-based), `adapter/` (adapter only, LoRA),
        `unlearning_result.json`."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        merged = self.merged_model()
        if not hasattr(merged, "save_pretrained"):
            raise InvalidInput("the candidate model has no save_pretrained; save its weights another way")
        merged.save_pretrained(directory / "model")
        if self.is_adapter:
            self.model.save_pretrained(directory / "adapter")
        (directory / RESULT_FILE).write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n")
        return directory
