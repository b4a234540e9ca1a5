"""The judge: turns each check into a MetricResult with an outcome under the decision rule
(decision.py), running the same rule on the controls (parent, oracle) with the same bootstrap
draws, so candidate and controls are compared on exactly the same resampled subjects."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from erasure_engine.records import Record
from erasure_engine.verification.decision import Decision, one_sided_decision, with_controls
from erasure_engine.verification.metrics import cluster_bootstrap_draws
from erasure_engine.verification.policy import VerificationPolicy
from erasure_engine.verification.verdict import (
    CLOSER_TO_TARGET,
    INCONCLUSIVE,
    LOWER_IS_BETTER,
    NOT_ABOVE_TARGET,
    MetricResult,
)

# statistic(role, first_indices, second_indices) -> float; indices may be slice(None) (everything).
Statistic = Callable[[str, object, object], float]
EVERYTHING = (slice(None), slice(None))


def clusters(records: list[Record]) -> np.ndarray:
    """One sampling unit per data subject (a record without a subject is its own unit)."""
    return np.array([record.subject_key or record.record_id for record in records])


def subject_count(records: list[Record]) -> int:
    return len(set(clusters(records).tolist()))


class Judge:
    def __init__(self, policy: VerificationPolicy, seed: int, forget_subjects: int):
        self.policy = policy
        self.seed = seed
        self.forget_subjects = forget_subjects
        self.metrics: list[MetricResult] = []
        self.decisions: dict[str, dict[str, Decision]] = {}  # metric -> role -> decision, for later power controls

    def _gating(self, name: str) -> bool:
        return name not in self.policy.report_only

    def gate(
        self,
        name: str,
        statistic: Statistic,
        roles: list[str],
        first: list[Record],
        second: list[Record],
        *,
        baseline: float,
        margin: float,
        cap: float,
        two_sided: bool = False,
        scale: float = 1.0,
        value_is_distance: bool = False,
        power: bool | Decision = True,
        target_floor: float | None = None,
    ) -> MetricResult:
        """Distance of each role's statistic to the target (the oracle's statistic on the same
        resample when the oracle is among `roles`, else `baseline`), judged by the decision rule.
        The parent's decision is the power control (it must fail) when `power` is True, the given
        decision when `power` is one (e.g. the un-attacked parent's), none when False; the
        oracle's must pass. `target_floor` bounds the target from below: a utility loss the
        candidate may match, never a gain the oracle happened to make that it must match too."""
        target_role = "oracle" if "oracle" in roles else None
        draws = cluster_bootstrap_draws(
            clusters(first), clusters(second), repetitions=self.policy.bootstrap_repetitions, seed=self.seed
        )
        samples = [EVERYTHING, *draws]

        def target(i, j) -> float:
            return statistic(target_role, i, j) if target_role else baseline

        targets = np.array([target(i, j) for i, j in samples])
        if target_floor is not None:
            targets = np.maximum(targets, target_floor)
        decisions: dict[str, Decision] = {}
        values: dict[str, float] = {}
        for role in roles:
            raw = np.array([statistic(role, i, j) for i, j in samples])
            distances = (raw - targets) * scale
            values[role] = float(raw[0])
            excess = abs(distances[0]) if two_sided else distances[0]
            decisions[role] = one_sided_decision(
                float(excess),
                float(np.std(distances[1:], ddof=1)),
                margin=margin,
                cap=cap,
                confidence=self.policy.confidence,
            )
        candidate = decisions["candidate"]
        self.decisions[name] = decisions
        power_control = power if isinstance(power, Decision) else decisions.get("parent") if power else None
        outcome, reason = with_controls(
            candidate,
            parent=power_control,
            oracle=decisions.get("oracle"),
            forget_subjects=self.forget_subjects,
            target="oracle" if target_role else "chance",
        )
        if value_is_distance:
            value, target_value = (values["candidate"] - targets[0]) * scale, 0.0
        else:
            value, target_value = values["candidate"], float(targets[0])
        metric = MetricResult(
            name=name,
            value=float(value),
            direction=CLOSER_TO_TARGET if two_sided else NOT_ABOVE_TARGET,
            threshold=candidate.threshold,
            policy_threshold=margin,
            noise_allowance=candidate.allowance,
            target=float(target_value),
            gating=self._gating(name),
            decided=outcome,
            reason=reason,
            standard_error=candidate.standard_error,
            controls={role: decisions[role].outcome for role in ("parent", "oracle") if role in decisions},
        )
        self.metrics.append(metric)
        return metric

    def decided(
        self,
        name: str,
        value: float,
        direction: str,
        threshold: float,
        candidate: Decision,
        *,
        parent: Decision | None,
        oracle: Decision | None,
        target: str,
    ) -> MetricResult:
        outcome, reason = with_controls(
            candidate, parent=parent, oracle=oracle, forget_subjects=self.forget_subjects, target=target
        )
        controls = {role: d.outcome for role, d in (("parent", parent), ("oracle", oracle)) if d is not None}
        metric = MetricResult(
            name=name,
            value=float(value),
            direction=direction,
            threshold=threshold,
            policy_threshold=threshold,
            gating=self._gating(name),
            decided=outcome,
            reason=reason,
            controls=controls,
        )
        self.metrics.append(metric)
        return metric

    def inconclusive(self, name: str, margin: float, reason: str) -> MetricResult:
        """A gate that could not be run with these data: inconclusive, never passed."""
        metric = MetricResult(
            name=name,
            value=float("nan"),
            direction=LOWER_IS_BETTER,
            threshold=margin,
            policy_threshold=margin,
            gating=self._gating(name),
            decided=INCONCLUSIVE,
            reason=reason,
        )
        self.metrics.append(metric)
        return metric

    def report(self, name: str, value: float) -> MetricResult:
        metric = MetricResult(name=name, value=float(value), direction=LOWER_IS_BETTER, threshold=None, gating=False)
        self.metrics.append(metric)
        return metric
