"""Metric functions on constructed cases whose answers are known by hand."""

from __future__ import annotations

import math
import zlib

import numpy as np
import pytest
import torch
from scipy import stats

from erasure_engine.errors import InvalidInput
from erasure_engine.verification.lm_statistics import (
    LMRecordStatistics,
    TokenScores,
    min_k_percent,
    token_scores_from_logits,
    zlib_length,
)
from erasure_engine.verification.metrics import (
    cluster_bootstrap_std,
    ks_two_sample,
    privleak,
    roc_auc,
    roc_curve,
    rouge_l,
    tpr_at_fpr,
)


def test_perfect_separation_gives_auc_one_and_reversed_zero():
    assert roc_auc([5, 6, 7], [1, 2, 3]) == 1.0
    assert roc_auc([1, 2, 3], [5, 6, 7]) == 0.0


def test_identical_distributions_give_auc_near_half():
    rng = np.random.default_rng(0)
    # Null standard deviation is sqrt((n1+n0+1)/(12 n1 n0)) ≈ 0.0091 here; 0.03 is over 3 of them.
    assert abs(roc_auc(rng.normal(size=2000), rng.normal(size=2000)) - 0.5) < 0.03


def test_ties_count_one_half():
    assert roc_auc([1, 1, 1], [1, 1]) == 0.5
    # pairs: (1 vs 1) tie ½, (1 vs 0) 1, (2 vs 1) 1, (2 vs 0) 1 → 3.5 / 4
    assert roc_auc([1, 2], [1, 0]) == pytest.approx(0.875)


def test_roc_curve_hand_case_and_auc_agree():
    curve = roc_curve([3, 1], [2, 0])
    assert curve.fpr.tolist() == [0.0, 0.0, 0.5, 0.5, 1.0]
    assert curve.tpr.tolist() == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert np.trapezoid(curve.tpr, curve.fpr) == pytest.approx(roc_auc([3, 1], [2, 0])) == 0.75


def test_roc_curve_groups_tied_scores_into_one_point():
    curve = roc_curve([1, 1], [1, 0])
    assert curve.fpr.tolist() == [0.0, 0.5, 1.0]
    assert curve.tpr.tolist() == [0.0, 1.0, 1.0]


def test_tpr_at_fpr_hand_case():
    members, nonmembers = [0.9, 0.8, 0.3], [0.85, 0.1, 0.2, 0.05]
    assert tpr_at_fpr(members, nonmembers, 0.01) == pytest.approx(1 / 3)  # only 0.9 beats every non-member
    assert tpr_at_fpr(members, nonmembers, 0.25) == 1.0  # one false positive (0.85) allowed
    with pytest.raises(InvalidInput):
        tpr_at_fpr(members, nonmembers, 1.5)


def test_metrics_reject_empty_and_nan_inputs():
    with pytest.raises(InvalidInput):
        roc_auc([], [1.0])
    with pytest.raises(InvalidInput):
        roc_auc([float("nan")], [1.0])


def test_ks_matches_scipy_and_hand_case():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=37), rng.normal(0.5, size=41)
    ours, theirs = ks_two_sample(a, b), stats.ks_2samp(a, b)
    assert ours.statistic == pytest.approx(theirs.statistic, abs=1e-12)
    assert ours.p_value == pytest.approx(theirs.pvalue, rel=1e-12)
    assert ks_two_sample([1, 2, 3], [4, 5, 6]).statistic == 1.0
    assert ks_two_sample([1, 2, 3], [1, 2, 3]).statistic == 0.0
    assert ks_two_sample([1, 2, 3], [1, 2, 3]).p_value == 1.0


def test_rouge_l_hand_examples():
    score = rouge_l("the cat on the mat", "the cat sat on the mat")  # LCS 5
    assert score.precision == 1.0
    assert score.recall == pytest.approx(5 / 6)
    assert score.fmeasure == pytest.approx(10 / 11)
    assert rouge_l("The CAT.", "the cat").fmeasure == 1.0  # case and punctuation ignored
    assert rouge_l("a b c d", "d c b a").fmeasure == pytest.approx(0.25)  # LCS 1 of 4
    assert rouge_l("", "anything").fmeasure == 0.0


def test_privleak_formula():
    assert privleak(0.75, 0.5) == pytest.approx(50.0)
    assert privleak(0.4, 0.5) == pytest.approx(-20.0)
    assert privleak(0.5, 0.5) == 0.0
    with pytest.raises(InvalidInput):
        privleak(0.5, 0.0)


def test_min_k_percent_hand_values():
    values = np.array([-1.0, -5.0, -2.0, -4.0, -3.0])
    assert min_k_percent(values, 0.4) == pytest.approx(-4.5)  # the lowest ⌊0.4·5⌋ = 2
    assert min_k_percent(values, 0.1) == -5.0  # at least one token
    assert min_k_percent(values, 1.0) == pytest.approx(-3.0)
    with pytest.raises(InvalidInput):
        min_k_percent(values, 0.0)


def test_token_scores_from_logits_by_hand():
    logits = torch.tensor([[[2.0, 0.0, -1.0], [0.5, 0.5, 3.0], [1.0, 1.0, 1.0]]])
    input_ids = torch.tensor([[0, 1, 2]])
    mask = torch.tensor([[1, 1, 1]])
    (scores,) = token_scores_from_logits(logits, input_ids, mask)
    expected_log_probs, expected_z = [], []
    for position, target in ((0, 1), (1, 2)):
        row = logits[0, position].double().numpy()
        log_p = row - math.log(np.exp(row).sum())
        p = np.exp(log_p)
        mu = float((p * log_p).sum())
        sigma = math.sqrt(float((p * (log_p - mu) ** 2).sum()))
        expected_log_probs.append(log_p[target])
        expected_z.append((log_p[target] - mu) / sigma)
    np.testing.assert_allclose(scores.log_probs, expected_log_probs, rtol=1e-5)
    np.testing.assert_allclose(scores.z_scores, expected_z, rtol=1e-5)


def test_token_scores_ignore_padding():
    logits = torch.randn(2, 4, 5, generator=torch.Generator().manual_seed(0))
    input_ids = torch.tensor([[1, 2, 3, 4], [1, 2, 0, 0]])
    mask = torch.tensor([[1, 1, 1, 1], [1, 1, 0, 0]])
    full, padded = token_scores_from_logits(logits, input_ids, mask)
    assert full.log_probs.size == 3 and padded.log_probs.size == 1


def test_record_statistics_loss_perplexity_zlib_min_k_plus_plus():
    text = "Quinn Haverkamp was born in Aarhus."
    scores = TokenScores(log_probs=np.array([-0.5, -2.0, -0.1, -1.4]), z_scores=np.array([0.3, -1.0, 0.8, -0.2]))
    stats_ = LMRecordStatistics(texts=[text], token_scores=[scores])
    assert stats_.losses[0] == pytest.approx(1.0)
    assert stats_.perplexities[0] == pytest.approx(math.e)
    assert zlib_length(text) == len(zlib.compress(text.encode("utf-8"), 9))
    assert stats_.zlib_ratios[0] == pytest.approx(1.0 / zlib_length(text))
    assert stats_.min_k(0.5)[0] == pytest.approx(-1.7)  # mean of −2.0 and −1.4
    assert stats_.min_k_plus_plus(0.5)[0] == pytest.approx(-0.6)  # mean of −1.0 and −0.2
    assert stats_.corpus_loss() == pytest.approx(1.0)


def test_cluster_bootstrap_treats_a_subject_as_one_unit():
    # Two records per subject, identical within a subject: resampling by subject sees 3 units.
    first = np.array([0.0, 0.0, 1.0, 1.0, 2.0, 2.0])
    clusters = ["a", "a", "b", "b", "c", "c"]
    statistic = lambda i, j: float(np.mean(first[i]))  # noqa: E731
    spread = cluster_bootstrap_std(statistic, clusters, clusters, repetitions=400, seed=3)
    # Standard error of a mean of 3 units with population SD sqrt(2/3) is ≈ 0.47.
    assert 0.35 < spread < 0.6
    assert spread == cluster_bootstrap_std(statistic, clusters, clusters, repetitions=400, seed=3)
    assert cluster_bootstrap_std(statistic, ["a"] * 6, ["a"] * 6, repetitions=50) == 0.0
