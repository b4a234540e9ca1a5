"""The decision rule, the controls, LiRA scoring and the three-outcome verdict, on numbers alone."""

from __future__ import annotations

import numpy as np
import pytest

from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record
from erasure_engine.verification import ReferenceModel, lira_scores, roc_auc
from erasure_engine.verification.decision import one_sided_decision, p_value_decision, with_controls
from erasure_engine.verification.judge import Judge
from erasure_engine.verification.lira import out_mask
from erasure_engine.verification.metrics import subject_means
from erasure_engine.verification.policy import VerificationPolicy
from erasure_engine.verification.verdict import (
    EXACT_BY_CONSTRUCTION,
    FAILED,
    INCONCLUSIVE,
    LOWER_IS_BETTER,
    NOT_ABOVE_TARGET,
    PASSED,
    MetricResult,
    Verdict,
)

RULE = {"margin": 0.05, "cap": 0.1, "confidence": 0.95}


def test_rule_fails_beyond_margin_plus_capped_allowance():
    assert one_sided_decision(0.0, 0.01, **RULE).outcome == PASSED
    assert one_sided_decision(0.2, 0.01, **RULE).outcome == FAILED
    # The allowance never exceeds the cap, however erratic the candidate: threshold <= margin + cap.
    for standard_error in (0.05, 0.2, 1.0, 100.0):
        decision = one_sided_decision(0.16, standard_error, **RULE)
        assert decision.threshold <= 0.15 + 1e-12 and decision.outcome == FAILED
    # Noise beyond the cap with an excess below the failure line: cannot tell, never passed.
    noisy = one_sided_decision(0.04, 0.2, **RULE)
    assert noisy.outcome == INCONCLUSIVE and "cap" in noisy.reason
    # ... unless even the upper confidence bound is within the margin.
    assert one_sided_decision(-0.5, 0.2, **RULE).outcome == PASSED
    assert one_sided_decision(float("nan"), 0.0, **RULE).outcome == FAILED
    with pytest.raises(InvalidInput):
        one_sided_decision(0.0, 0.1, margin=0.05, cap=0.1, confidence=1.0)


def test_controls_give_a_pass_its_meaning():
    passed, failed = one_sided_decision(0.0, 0.0, **RULE), one_sided_decision(0.5, 0.0, **RULE)
    inconclusive = one_sided_decision(0.0, 1.0, **RULE)
    assert with_controls(passed, parent=failed, oracle=passed, forget_subjects=3, target="oracle")[0] == PASSED
    outcome, reason = with_controls(passed, parent=passed, oracle=passed, forget_subjects=1, target="oracle")
    assert (
        outcome == INCONCLUSIVE and "with 1 forget subject this check cannot tell the parent from the oracle" in reason
    )
    assert with_controls(passed, parent=failed, oracle=failed, forget_subjects=3, target="oracle")[0] == INCONCLUSIVE
    assert (
        with_controls(inconclusive, parent=failed, oracle=passed, forget_subjects=3, target="oracle")[0] == INCONCLUSIVE
    )
    # A failure is evidence on its own, whatever the controls.
    assert with_controls(failed, parent=passed, oracle=None, forget_subjects=1, target="chance")[0] == FAILED
    assert (
        p_value_decision(0.01, minimum=0.05).outcome == FAILED and p_value_decision(0.5, minimum=0.05).outcome == PASSED
    )


def _records(prefix: str, subjects: int, per_subject: int) -> list[Record]:
    return [
        Record(record_id=f"{prefix}{s}-{r}", subject_key=f"{prefix}{s}", content={"text": "x"})
        for s in range(subjects)
        for r in range(per_subject)
    ]


def test_judge_compares_roles_on_the_same_resampled_subjects():
    rng = np.random.default_rng(0)
    forget, holdout = _records("f", 3, 4), _records("h", 5, 4)
    oracle_m, oracle_n = rng.normal(size=12), rng.normal(size=20)
    member = {"candidate": oracle_m.copy(), "oracle": oracle_m, "parent": oracle_m + 5}
    nonmember = {"candidate": oracle_n.copy(), "oracle": oracle_n, "parent": oracle_n}
    judge = Judge(VerificationPolicy(bootstrap_repetitions=50), seed=0, forget_subjects=3)
    metric = judge.gate(
        "membership.loss.auc",
        lambda role, i, j: roc_auc(member[role][i], nonmember[role][j]),
        ["candidate", "parent", "oracle"],
        forget,
        holdout,
        baseline=0.5,
        margin=0.05,
        cap=0.1,
    )
    # Identical to the oracle: zero distance on every resample, so no noise and a pass.
    assert metric.outcome == PASSED and metric.standard_error == 0.0
    assert metric.controls == {"parent": FAILED, "oracle": PASSED}
    assert metric.direction == NOT_ABOVE_TARGET and metric.target == pytest.approx(roc_auc(oracle_m, oracle_n))

    member["candidate"] = oracle_m + 5  # as leaky as the parent
    leaky = judge.gate(
        "membership.zlib.auc",
        lambda role, i, j: roc_auc(member[role][i], nonmember[role][j]),
        ["candidate", "parent", "oracle"],
        forget,
        holdout,
        baseline=0.5,
        margin=0.05,
        cap=0.1,
    )
    assert leaky.outcome == FAILED and leaky.value == 1.0

    member["parent"] = oracle_m  # a parent the attack cannot tell from the oracle: no power
    powerless = judge.gate(
        "membership.min_k.auc",
        lambda role, i, j: roc_auc(member[role][i], nonmember[role][j]),
        ["candidate", "parent", "oracle"],
        forget,
        holdout,
        baseline=0.5,
        margin=0.05,
        cap=0.1,
    )
    assert powerless.outcome == FAILED  # the candidate's own leak still fails
    member["candidate"] = oracle_m.copy()
    blind = judge.gate(
        "membership.min_k_pp.auc",
        lambda role, i, j: roc_auc(member[role][i], nonmember[role][j]),
        ["candidate", "parent", "oracle"],
        forget,
        holdout,
        baseline=0.5,
        margin=0.05,
        cap=0.1,
    )
    assert blind.outcome == INCONCLUSIVE and "cannot tell the parent" in blind.reason


def test_a_utility_gain_of_the_oracle_is_not_a_target_the_candidate_must_match():
    """The oracle answering more retained questions than the parent (noise of a retrain) must not
    fail a candidate that kept the parent's utility: the target is floored at no loss."""
    retain = _records("r", 6, 4)
    correct = {"parent": np.full(24, 0.5), "candidate": np.full(24, 0.5), "oracle": np.full(24, 0.9)}

    def drop(role, i, _j):
        return float(np.mean(correct["parent"][i]) - np.mean(correct[role][i]))

    def judged(name, **floor):
        judge = Judge(VerificationPolicy(bootstrap_repetitions=30), seed=0, forget_subjects=1)
        return judge.gate(
            name,
            drop,
            ["candidate", "oracle"],
            retain,
            retain,
            baseline=0.0,
            margin=0.05,
            cap=0.1,
            power=False,
            **floor,
        )

    assert judged("utility.retain_accuracy_drop").outcome == FAILED  # unfloored: must gain 0.4
    floored = judged("utility.retain_accuracy_drop", target_floor=0.0)
    assert floored.outcome == PASSED and floored.target == 0.0
    correct["candidate"] = np.full(24, 0.3)  # a real loss still fails
    assert judged("utility.retain_accuracy_drop", target_floor=0.0).outcome == FAILED


def test_verdict_has_three_outcomes_and_records_calibration():
    def verdict(*metrics, basis="statistical"):
        return Verdict(
            kind="classifier",
            seed=0,
            policy={},
            metrics=list(metrics),
            skipped={},
            details={},
            inputs={},
            environment={},
            basis=basis,
            exact_evidence={"retrained_checkpoints": {"0": "ab"}, "reused_shards": {}}
            if basis == EXACT_BY_CONSTRUCTION
            else None,
        )

    def gate(name, outcome, parent=FAILED):
        return MetricResult(
            name, 0.5, NOT_ABOVE_TARGET, 0.1, target=0.5, decided=outcome, controls={"parent": parent, "oracle": PASSED}
        )

    report = MetricResult("membership.loss.tpr_at_low_fpr", 1.0, LOWER_IS_BETTER, None, gating=False)
    passed = verdict(gate("a", PASSED), report)
    assert passed.outcome == PASSED and passed.passed and passed.calibration["parent_failed"]
    assert passed.to_json()["metrics"][1]["outcome"] == "reported"
    assert verdict(gate("a", PASSED), gate("b", INCONCLUSIVE)).outcome == INCONCLUSIVE
    mixed = verdict(gate("a", FAILED), gate("b", INCONCLUSIVE))
    assert mixed.outcome == FAILED and mixed.failed_metrics == ["a"] and mixed.inconclusive_metrics == ["b"]
    # Every gate passed but the parent control failed none: the suite showed no power.
    powerless = verdict(gate("a", PASSED, parent=PASSED))
    assert powerless.outcome == INCONCLUSIVE and "parent control" in powerless.reason
    document = powerless.to_json()
    assert document["outcome"] == "inconclusive" and document["passed"] is False and document["reason"]
    exact = verdict(gate("a", INCONCLUSIVE), basis=EXACT_BY_CONSTRUCTION)
    assert exact.outcome == PASSED and exact.to_json()["exact_evidence"]["retrained_checkpoints"]
    assert verdict(gate("a", FAILED), basis=EXACT_BY_CONSTRUCTION).outcome == FAILED


def test_subject_means_aggregate_records_per_person():
    means, keys = subject_means([1.0, 3.0, 10.0], ["b", "b", "a"])
    assert keys == ["a", "b"] and means.tolist() == [10.0, 2.0]
    with pytest.raises(InvalidInput):
        subject_means([1.0], ["a", "b"])


def test_lira_calibrates_each_record_against_models_that_never_saw_it():
    # Record 0 is easy for every model; record 1 is hard for OUT models but easy for the target.
    reference = np.array([[-0.1, -3.0], [-0.12, -3.2], [-0.08, -2.8]])
    out = np.ones_like(reference, dtype=bool)
    target = np.array([-0.1, -1.0])
    scores = lira_scores(target, reference, out)
    assert scores[1] > scores[0]  # the plain loss attack would rank them the other way round
    assert abs(scores[0]) < 1.0
    with pytest.raises(InvalidInput):
        lira_scores(target, reference, np.zeros_like(out))
    records = _records("s", 2, 1)
    mask = out_mask(
        [ReferenceModel(model=None, trained_subjects={"s0"}), ReferenceModel(model=None, trained_subjects=set())],
        records,
    )
    assert mask.tolist() == [[False, True], [True, True]]
    with pytest.raises(InvalidInput, match="never saw"):
        out_mask([ReferenceModel(model=None, trained_subjects={"s0"})], records)
