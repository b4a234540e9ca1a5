"""The verification verdict: versioned JSON listing every metric against its threshold, with
three outcomes (passed / failed / inconclusive) per metric and for the whole verdict."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from erasure_engine.errors import InvalidInput
from erasure_engine.records import canonical_json

SCHEMA_VERSION = 2

LOWER_IS_BETTER = "lower_is_better"  # passes when value <= threshold
HIGHER_IS_BETTER = "higher_is_better"  # passes when value >= threshold
CLOSER_TO_TARGET = "closer_to_target_is_better"  # passes when |value - target| <= threshold
NOT_ABOVE_TARGET = "not_above_target"  # passes when value - target <= threshold
DIRECTIONS = (LOWER_IS_BETTER, HIGHER_IS_BETTER, CLOSER_TO_TARGET, NOT_ABOVE_TARGET)

PASSED = "passed"
FAILED = "failed"
INCONCLUSIVE = "inconclusive"
REPORTED = "reported"  # report-only metric: never gates
OUTCOMES = (PASSED, FAILED, INCONCLUSIVE, REPORTED)

# What stands behind a verdict.
STATISTICAL = "statistical"  # attacks judged against the oracle (or chance) with the decision rule
EXACT_BY_CONSTRUCTION = "exact_by_construction"  # retrained without the data; attacks reported as well


def within_threshold(value: float, direction: str, threshold: float, target: float | None) -> bool:
    """The bare comparison of a value with its threshold (NaN never passes)."""
    if math.isnan(value):
        return False
    if direction == LOWER_IS_BETTER:
        return value <= threshold
    if direction == HIGHER_IS_BETTER:
        return value >= threshold
    if direction == NOT_ABOVE_TARGET:
        return value - target <= threshold
    return abs(value - target) <= threshold


@dataclass(frozen=True)
class MetricResult:
    name: str
    value: float
    direction: str
    threshold: float | None  # effective threshold: the policy margin plus the (capped) noise allowance
    policy_threshold: float | None = None
    noise_allowance: float = 0.0
    target: float | None = None
    gating: bool = True
    # Set by the decision rule; None = the bare comparison with the threshold decides.
    decided: str | None = None
    reason: str = ""
    standard_error: float | None = None
    controls: dict = field(default_factory=dict)  # role ("parent", "oracle") -> outcome of the same rule on it

    def __post_init__(self):
        if self.direction not in DIRECTIONS:
            raise InvalidInput(f"unknown metric direction {self.direction!r}")
        if self.direction in (CLOSER_TO_TARGET, NOT_ABOVE_TARGET) and self.target is None:
            raise InvalidInput(f"metric {self.name} compares to a target but has none")
        if self.decided is not None and self.decided not in (PASSED, FAILED, INCONCLUSIVE):
            raise InvalidInput(f"unknown metric outcome {self.decided!r}")

    @property
    def outcome(self) -> str:
        if not self.gating or self.threshold is None:
            return REPORTED
        if self.decided is not None:
            return self.decided
        return PASSED if within_threshold(self.value, self.direction, self.threshold, self.target) else FAILED

    @property
    def passed(self) -> bool | None:
        """True / False for a passed / failed gate; None for report-only and inconclusive metrics."""
        return {PASSED: True, FAILED: False}.get(self.outcome)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "value": _finite(self.value),
            "direction": self.direction,
            "threshold": _finite(self.threshold),
            "policy_threshold": self.policy_threshold,
            "noise_allowance": _finite(self.noise_allowance),
            "standard_error": _finite(self.standard_error),
            "target": _finite(self.target),
            "gating": self.gating and self.threshold is not None,
            "outcome": self.outcome,
            "passed": self.passed,
            "reason": self.reason,
            "controls": dict(sorted(self.controls.items())),
        }


def _finite(value: float | None) -> float | None:
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
    basis: str = STATISTICAL
    exact_evidence: dict | None = None  # for EXACT_BY_CONSTRUCTION: retrained checkpoints, reused shards

    @property
    def failed_metrics(self) -> list[str]:
        return [metric.name for metric in self.metrics if metric.outcome == FAILED]

    @property
    def inconclusive_metrics(self) -> list[str]:
        return [metric.name for metric in self.metrics if metric.outcome == INCONCLUSIVE]

    @property
    def calibration(self) -> dict:
        """The controls: the same rule applied to the parent (which must fail somewhere: the suite
        has power) and to the oracle (which must pass every gate it was judged on)."""
        gates = [metric for metric in self.metrics if metric.outcome != REPORTED]
        parent = {m.name: m.controls["parent"] for m in gates if "parent" in m.controls}
        oracle = {m.name: m.controls["oracle"] for m in gates if "oracle" in m.controls}
        return {
            "parent": dict(sorted(parent.items())),
            "oracle": dict(sorted(oracle.items())),
            "parent_failed": any(outcome == FAILED for outcome in parent.values()),
            "oracle_passed": None if not oracle else all(outcome == PASSED for outcome in oracle.values()),
        }

    @property
    def outcome(self) -> str:
        if self.failed_metrics:
            return FAILED
        if self.basis == EXACT_BY_CONSTRUCTION:
            # The proof is the construction (retrained without the data); attacks are reported
            # and can only refute it (a failed gate above), never be needed to support it.
            return PASSED
        calibration = self.calibration
        if self.inconclusive_metrics or not calibration["parent_failed"] or calibration["oracle_passed"] is False:
            return INCONCLUSIVE
        return PASSED

    @property
    def reason(self) -> str:
        outcome = self.outcome
        if outcome == FAILED:
            return f"failed: {', '.join(self.failed_metrics)}"
        if outcome == PASSED:
            if self.basis == EXACT_BY_CONSTRUCTION:
                return "exact by construction: the model was retrained without the erased records"
            return "every gating metric passed and the controls behaved (the parent fails, the oracle passes)"
        calibration = self.calibration
        reasons = []
        if not calibration["parent_failed"]:
            reasons.append(
                "the parent control fails no gate, so at this sample size the suite cannot tell a model "
                "that still holds the data from one that does not"
            )
        if calibration["oracle_passed"] is False:
            reasons.append("the oracle control does not pass every gate")
        if self.inconclusive_metrics:
            reasons.append(f"inconclusive: {', '.join(self.inconclusive_metrics)}")
        return "; ".join(reasons)

    @property
    def passed(self) -> bool:
        return self.outcome == PASSED

    def metric(self, name: str) -> MetricResult:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def to_json(self) -> dict:
        document = {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "outcome": self.outcome,
            "passed": self.passed,
            "reason": self.reason,
            "basis": self.basis,
            "failed_metrics": self.failed_metrics,
            "inconclusive_metrics": self.inconclusive_metrics,
            "calibration": self.calibration,
            "seed": self.seed,
            "policy": self.policy,
            "metrics": [metric.to_json() for metric in self.metrics],
            "skipped": dict(sorted(self.skipped.items())),
            "details": self.details,
            "inputs": self.inputs,
            "environment": self.environment,
        }
        if self.exact_evidence is not None:
            document["exact_evidence"] = self.exact_evidence
        return document

    def canonical_bytes(self) -> bytes:
        """Sorted keys, no whitespace: two runs with the same inputs give the same bytes."""
        return canonical_json(self.to_json())

    def write_json(self, path: str | Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        return path
