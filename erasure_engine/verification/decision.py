"""The decision rule: from a metric's distance to its target and the subject-level sampling noise
of that distance to PASSED / FAILED / INCONCLUSIVE, then the controls that give the outcome its
meaning (the parent must fail the same check, the oracle must pass it). See docs/metrics.md.

The test is one-sided: H0 "the candidate exceeds its target (the oracle, or chance) by at most
`margin`". It fails when the observed excess is beyond `margin` plus the one-sided critical value
z(confidence) × standard error — but that noise allowance is capped at `cap`: when the noise
would need more, the sample is too small to decide and the check is INCONCLUSIVE, never passed
(unless even the upper confidence bound, excess + z × standard error, lies within the margin).
A noisier candidate therefore never gets a threshold above margin + cap."""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats

from erasure_engine.errors import InvalidInput
from erasure_engine.verification.verdict import FAILED, INCONCLUSIVE, PASSED


@dataclass(frozen=True)
class Decision:
    outcome: str
    excess: float  # distance beyond the target (|distance| for a two-sided check)
    standard_error: float
    allowance: float  # min(z · standard error, cap)
    threshold: float  # margin + allowance
    reason: str


def critical_value(confidence: float) -> float:
    if not 0.5 <= confidence < 1.0:
        raise InvalidInput(f"confidence must lie in [0.5, 1), got {confidence}")
    return float(stats.norm.ppf(confidence))


def one_sided_decision(
    excess: float, standard_error: float, *, margin: float, cap: float, confidence: float
) -> Decision:
    if margin < 0 or cap < 0 or standard_error < 0:
        raise InvalidInput("margin, cap and standard error must not be negative")
    needed = critical_value(confidence) * standard_error
    allowance = min(needed, cap)
    threshold = margin + allowance
    if math.isnan(excess) or excess > threshold:
        return Decision(
            FAILED,
            excess,
            standard_error,
            allowance,
            threshold,
            f"exceeds its target by {excess:.4g}, more than margin {margin:.4g} + noise allowance {allowance:.4g}",
        )
    if needed > cap and excess + needed > margin:
        # Too noisy to decide within the cap, unless even the upper confidence bound is within the margin.
        return Decision(
            INCONCLUSIVE,
            excess,
            standard_error,
            allowance,
            threshold,
            f"sampling noise too large to decide: {confidence:.0%} one-sided allowance {needed:.4g} "
            f"(standard error {standard_error:.4g}) exceeds the cap {cap:.4g}",
        )
    return Decision(
        PASSED,
        excess,
        standard_error,
        allowance,
        threshold,
        f"within margin {margin:.4g} + noise allowance {allowance:.4g} of its target",
    )


def p_value_decision(p_value: float, *, minimum: float) -> Decision:
    """A two-sample test of 'same distribution as the oracle': rejected (p < minimum) fails."""
    if math.isnan(p_value) or p_value < minimum:
        return Decision(
            FAILED, p_value, 0.0, 0.0, minimum, f"p = {p_value:.4g} < {minimum:.4g}: differs from the oracle"
        )
    return Decision(PASSED, p_value, 0.0, 0.0, minimum, f"p = {p_value:.4g} ≥ {minimum:.4g}")


def with_controls(
    candidate: Decision, *, parent: Decision | None, oracle: Decision | None, forget_subjects: int, target: str
) -> tuple[str, str]:
    """The candidate's outcome once the controls are taken into account.

    A failure stands (it is evidence on its own). A pass counts only if the same check fails the
    parent (otherwise it has no power at this sample size) and passes the oracle."""
    if candidate.outcome == FAILED:
        return FAILED, candidate.reason
    if oracle is not None and oracle.outcome != PASSED:
        return INCONCLUSIVE, f"the oracle control does not pass this check ({oracle.reason}): it is not calibrated"
    if candidate.outcome == INCONCLUSIVE:
        return INCONCLUSIVE, candidate.reason
    if parent is not None and parent.outcome != FAILED:
        plural = "subject" if forget_subjects == 1 else "subjects"
        return INCONCLUSIVE, (
            f"with {forget_subjects} forget {plural} this check cannot tell the parent from the "
            f"{target} (the parent's own result: {parent.outcome})"
        )
    return PASSED, candidate.reason
