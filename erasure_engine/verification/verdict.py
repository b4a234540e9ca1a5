"""The verification verdict: versioned JSON listing every metric against its threshold."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from erasure_engine.errors import InvalidInput
from erasure_engine.records import canonical_json

SCHEMA_VERSION = 1

LOWER_IS_BETTER = "lower_is_better"  # passes when value <= threshold
HIGHER_IS_BETTER = "higher_is_better"  # passes when value >= threshold
CLOSER_TO_TARGET = "closer_to_target_is_better"  # passes when |value - target| <= threshold
DIRECTIONS = (LOWER_IS_BETTER, HIGHER_IS_BETTER, CLOSER_TO_TARGET)


@dataclass(frozen=True)
class MetricResult:
    name: str
    value: float
    direction: str
    threshold: float | None  # effective threshold (policy value widened by the noise allowance)
    policy_threshold: float | None = None
    noise_allowance: float = 0.0
    target: float | None = None
    gating: bool = True

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise InvalidInput(f"unknown metric direction {self.direction!r}")
        if self.direction == CLOSER_TO_TARGET and self.target is None:
            raise InvalidInput(f"metric {self.name} compares to a target but has none")

    @property
    def passed(self) -> bool | None:
        """None for report-only metrics; NaN never passes."""
        if not self.gating or self.threshold is None:
            return None
        if math.isnan(self.value):
            return False
        if self.direction == LOWER_IS_BETTER:
            return self.value <= self.threshold
        if self.direction == HIGHER_IS_BETTER:
            return self.value >= self.threshold
        return abs(self.value - self.target) <= self.threshold

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "value": _finite(self.value),
            "direction": self.direction,
            "threshold": self.threshold,
            "policy_threshold": self.policy_threshold,
            "noise_allowance": self.noise_allowance,
            "target": self.target,
            "gating": self.gating and self.threshold is not None,
            "passed": self.passed,
        }


def _finite(value: float) -> float | None:
    return None if value is None or math.isnan(value) or math.isinf(value) else float(value)


@dataclass
class Verdict:
    kind: str  # "causal_lm" or "classifier"
    seed: int
    policy: dict
    metrics: list[MetricResult]
    skipped: dict[str, str]  # check name -> why it did not run
    details: dict  # numbers behind the metrics (parent/oracle values, sample sizes)
    inputs: dict  # sha256 digests of every model and data set
    environment: dict  # library versions
    # Raw per-record scores for the plots; not part of the JSON.
    curves: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def passed(self) -> bool:
        return all(metric.passed is not False for metric in self.metrics)

    @property
    def failed_metrics(self) -> list[str]:
        return [metric.name for metric in self.metrics if metric.passed is False]

    def metric(self, name: str) -> MetricResult:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def to_json(self) -> dict:
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "passed": self.passed,
            "failed_metrics": self.failed_metrics,
            "seed": self.seed,
            "policy": self.policy,
            "metrics": [metric.to_json() for metric in self.metrics],
            "skipped": dict(sorted(self.skipped.items())),
            "details": self.details,
            "inputs": self.inputs,
            "environment": self.environment,
        }

    def canonical_bytes(self) -> bytes:
        """Sorted keys, no whitespace: two runs with the same inputs give the same bytes."""
        return canonical_json(self.to_json())

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path
