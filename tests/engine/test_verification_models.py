"""The decision rule on tiny LMs trained here, for forget sets of 1, 3 and 10 subjects: the parent
(which memorised them) is never passed, the oracle retrained without them is passed, a model that
forgot only some of them is not passed by the verdict nor by any membership metric, and the
parent plus tiny weight noise fails on privacy. Verdicts reproduce byte for byte."""

from __future__ import annotations

import json

import pytest

from erasure_engine.verification import FAILED, PASSED, ReferenceModel, verify, write_report
from tests.engine.verification_fixtures import FORGET_SIZES, noisy_copy, train_family

# Tiny models on 16 subjects: a never-seen subject's bio perplexity depends on which name pieces the
# training subjects happened to share, so general utility is reported, not gated. Quantization
# and the full relearning budget are exercised in test_verification.py; here they would only cost time.
POLICY = {
    "batch_size": 64,
    "bootstrap_repetitions": 50,
    "relearn_steps": 3,
    "quantization_bits": [],
    "report_only": ["utility.general_perplexity_increase"],
}
PRIVACY_PREFIXES = ("membership.", "oracle.", "extraction.", "knowledge.", "relearn_", "quantized_")


@pytest.fixture(scope="module")
def family():
    return train_family()


def judge(family, candidate, size, **extra):
    return verify(
        candidate,
        family.parent,
        family.forget(size),
        family.retain(size),
        family.holdout,
        oracle=family.oracles[size],
        tokenizer=family.tokenizer,
        policy=POLICY,
        seed=1,
        **extra,
    )


def references(family, size):
    """The other oracles as LiRA references: each never saw the subjects it was retrained without."""
    return [ReferenceModel(model, set(family.subjects[k:])) for k, model in family.oracles.items() if k >= size]


@pytest.mark.parametrize("size", FORGET_SIZES)
def test_parent_is_never_passed_and_the_oracle_is(family, size):
    extra = {"references": references(family, size)} if size == 3 else {}
    parent = judge(family, family.parent, size, **extra)
    assert parent.outcome == FAILED, parent.reason
    assert parent.metric("membership.loss.auc").outcome == FAILED
    # The fixture's parent answers its forget subjects' questions, so the knowledge gates have power.
    assert parent.metric("knowledge.accuracy_excess").outcome == FAILED
    assert parent.calibration["parent_failed"] and parent.calibration["oracle_passed"]

    oracle = judge(family, family.oracles[size], size, **extra)
    assert oracle.outcome == PASSED, (
        oracle.reason,
        [(m.name, m.reason) for m in oracle.metrics if m.outcome not in (PASSED, "reported")],
    )
    # The gold standard passes utility too: judged against what the oracle itself loses.
    assert oracle.metric("utility.retain_perplexity_increase").outcome == PASSED
    if size == 3:
        assert parent.metric("membership.lira.auc").outcome == FAILED
        assert oracle.metric("membership.lira.auc").outcome == PASSED
    for verdict in (parent, oracle):
        assert verdict.details["membership_subject_level"]["loss"]["candidate"]["auc"] is not None
        assert verdict.metric("membership.loss.subject_auc").outcome == "reported"


@pytest.mark.parametrize(("size", "forgotten"), [(3, 1), (10, 3)])
def test_a_model_that_forgot_only_some_subjects_is_not_passed(family, size, forgotten):
    partial = judge(family, family.oracles[forgotten], size)
    assert partial.outcome != PASSED, partial.reason
    membership = [
        m
        for m in partial.metrics
        if m.name.startswith("membership.") and m.name.endswith(".auc") and m.outcome != "reported"
    ]
    assert membership and all(m.outcome != PASSED for m in membership), [(m.name, m.outcome) for m in membership]


def test_parent_plus_tiny_weight_noise_fails_on_privacy(family, tmp_path):
    noisy = judge(family, noisy_copy(family.parent, 0.01, seed=0), 3)
    assert noisy.outcome == FAILED
    privacy_failures = [name for name in noisy.failed_metrics if name.startswith(PRIVACY_PREFIXES)]
    assert privacy_failures, noisy.failed_metrics

    document = json.loads(noisy.canonical_bytes())
    assert document["schema_version"] == 2 and document["outcome"] == "failed" and document["passed"] is False
    assert set(document["inputs"]["models"]) == {"candidate", "parent", "oracle"}
    assert document["inputs"]["datasets"]["forget"]["records"] == len(family.forget(3))
    for metric in document["metrics"]:
        assert {"name", "value", "threshold", "direction", "outcome", "passed", "reason", "controls"} <= set(metric)
    paths = write_report(noisy, tmp_path / "report")
    assert paths["membership_roc"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["verdict"].read_text())["outcome"] == "failed"


def test_exact_unlearning_verdict_rests_on_its_construction_and_reports_every_attack(family):
    evidence = {"retrained_checkpoints": {"0": "ab" * 32}, "reused_shards": {"1": "cd" * 32}}
    progress: list[float] = []
    exact = verify(
        family.oracles[1],
        family.parent,
        family.forget(1),
        family.retain(1),
        family.holdout,
        oracle=family.oracles[1],
        tokenizer=family.tokenizer,
        policy={**POLICY, "relearn_steps": 0},
        seed=1,
        exact_evidence=evidence,
        progress=lambda fraction, _: progress.append(fraction),
    )
    assert exact.outcome == PASSED and exact.basis == "exact_by_construction"
    document = exact.to_json()
    assert document["exact_evidence"] == evidence and "exact by construction" in document["reason"]
    assert {"membership.loss.auc", "oracle.privleak", "knowledge.accuracy_excess"} <= {
        m["name"] for m in document["metrics"]
    }
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0


def test_same_inputs_and_seed_give_identical_verdict_bytes(family):
    policy = {**POLICY, "quantization_bits": [4], "relearn_steps": 0}

    def run(seed):
        return verify(
            family.oracles[1],
            family.parent,
            family.forget(1),
            family.retain(1),
            family.holdout,
            oracle=family.oracles[1],
            tokenizer=family.tokenizer,
            policy=policy,
            seed=seed,
        ).canonical_bytes()

    first = run(7)
    assert run(7) == first
    assert run(8) != first  # the seed is part of the verdict (and drives the bootstrap)
