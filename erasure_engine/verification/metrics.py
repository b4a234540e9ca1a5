"""Pure metric functions on numpy arrays: no models, no I/O.

Convention for every membership score: higher means "more likely a member" (seen in training).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats

from erasure_engine.errors import InvalidInput


def _as_scores(values, name: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).ravel()
    if array.size == 0:
        raise InvalidInput(f"{name} is empty: a metric needs at least one value")
    if not np.all(np.isfinite(array)):
        raise InvalidInput(f"{name} contains NaN or infinite values")
    return array


@dataclass(frozen=True)
class RocCurve:
    """Points from (0, 0) to (1, 1), one per distinct score threshold (ties share a point)."""

    fpr: np.ndarray
    tpr: np.ndarray
    thresholds: np.ndarray  # score >= threshold is called "member"; first is +inf


def roc_curve(member_scores, nonmember_scores) -> RocCurve:
    members = _as_scores(member_scores, "member scores")
    nonmembers = _as_scores(nonmember_scores, "non-member scores")
    scores = np.concatenate([members, nonmembers])
    labels = np.concatenate([np.ones(members.size), np.zeros(nonmembers.size)])
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    # Last index of each run of equal scores: tied records cross the threshold together.
    distinct = np.flatnonzero(np.diff(scores)) if scores.size > 1 else np.array([], dtype=int)
    ends = np.concatenate([distinct, [scores.size - 1]])
    true_positives = np.cumsum(labels)[ends]
    false_positives = (ends + 1) - true_positives
    return RocCurve(
        fpr=np.concatenate([[0.0], false_positives / nonmembers.size]),
        tpr=np.concatenate([[0.0], true_positives / members.size]),
        thresholds=np.concatenate([[np.inf], scores[ends]]),
    )


def roc_auc(member_scores, nonmember_scores) -> float:
    """P(member score > non-member score) + ½·P(tie): the Mann–Whitney U statistic / (n₁·n₀),
    computed from mid-ranks so ties count one half."""
    members = _as_scores(member_scores, "member scores")
    nonmembers = _as_scores(nonmember_scores, "non-member scores")
    ranks = stats.rankdata(np.concatenate([members, nonmembers]), method="average")
    rank_sum = float(np.sum(ranks[: members.size]))
    u_statistic = rank_sum - members.size * (members.size + 1) / 2.0
    return u_statistic / (members.size * nonmembers.size)


def tpr_at_fpr(member_scores, nonmember_scores, fpr: float = 0.01) -> float:
    """Highest true-positive rate over ROC points whose false-positive rate is at most `fpr`."""
    if not 0.0 <= fpr <= 1.0:
        raise InvalidInput(f"fpr must lie in [0, 1], got {fpr}")
    curve = roc_curve(member_scores, nonmember_scores)
    allowed = curve.fpr <= fpr + 1e-12
    return float(np.max(curve.tpr[allowed]))


@dataclass(frozen=True)
class KsResult:
    statistic: float
    p_value: float


def ks_two_sample(first, second) -> KsResult:
    """Two-sample Kolmogorov–Smirnov test. The statistic is the largest gap between the two
    empirical CDFs; the two-sided p-value is scipy's (exact for small samples)."""
    a = np.sort(_as_scores(first, "first sample"))
    b = np.sort(_as_scores(second, "second sample"))
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side="right") / a.size
    cdf_b = np.searchsorted(b, points, side="right") / b.size
    statistic = float(np.max(np.abs(cdf_a - cdf_b)))
    p_value = float(stats.ks_2samp(a, b, alternative="two-sided", method="auto").pvalue)
    return KsResult(statistic=statistic, p_value=p_value)


_WORD = re.compile(r"[a-z0-9]+")


def rouge_tokens(text: str) -> list[str]:
    """Lower-case alphanumeric words, as the reference ROUGE scorer tokenises (no stemming)."""
    return _WORD.findall(text.lower())


def longest_common_subsequence(first: list[str], second: list[str]) -> int:
    if not first or not second:
        return 0
    previous = [0] * (len(second) + 1)
    for token in first:
        current = [0]
        for column, other in enumerate(second, start=1):
            current.append(previous[column - 1] + 1 if token == other else max(previous[column], current[-1]))
        previous = current
    return previous[-1]


@dataclass(frozen=True)
class RougeL:
    precision: float
    recall: float
    fmeasure: float


def rouge_l(candidate: str, reference: str) -> RougeL:
    """ROUGE-L: LCS of the word sequences; P = LCS/|candidate|, R = LCS/|reference|,
    F = 2PR/(P+R). Empty sides score 0."""
    candidate_tokens, reference_tokens = rouge_tokens(candidate), rouge_tokens(reference)
    lcs = longest_common_subsequence(candidate_tokens, reference_tokens)
    if lcs == 0:
        return RougeL(0.0, 0.0, 0.0)
    precision = lcs / len(candidate_tokens)
    recall = lcs / len(reference_tokens)
    return RougeL(precision, recall, 2 * precision * recall / (precision + recall))


def privleak(candidate_auc: float, oracle_auc: float) -> float:
    """MUSE PrivLeak in percent: (AUC_candidate − AUC_oracle) / AUC_oracle × 100.
    0 is ideal; positive = under-unlearning (forget set still looks seen), negative = over-unlearning."""
    if oracle_auc <= 0:
        raise InvalidInput(f"PrivLeak needs a positive oracle AUC, got {oracle_auc}")
    return (candidate_auc - oracle_auc) / oracle_auc * 100.0


def cluster_bootstrap_draws(first_clusters, second_clusters, *, repetitions: int = 200, seed: int = 0):
    """`repetitions` pairs (first_indices, second_indices): whole clusters (data subjects)
    resampled with replacement within each of the two samples. Reusing the same draws for
    several models pairs them (their difference is resampled, not each alone)."""
    if repetitions < 2:
        raise InvalidInput("a bootstrap needs at least 2 repetitions")
    rng = np.random.default_rng(seed)
    groups = []
    for clusters in (first_clusters, second_clusters):
        clusters = np.asarray(clusters)
        if clusters.size == 0:
            raise InvalidInput("a bootstrap needs at least one record on each side")
        _, inverse = np.unique(clusters, return_inverse=True)
        groups.append([np.flatnonzero(inverse == c) for c in range(inverse.max() + 1)])
    draws = []
    for _ in range(repetitions):
        drawn = []
        for members in groups:
            picks = rng.integers(0, len(members), size=len(members))
            drawn.append(np.concatenate([members[p] for p in picks]))
        draws.append((drawn[0], drawn[1]))
    return draws


def cluster_bootstrap_std(
    statistic: Callable[[np.ndarray, np.ndarray], float],
    first_clusters,
    second_clusters,
    *,
    repetitions: int = 200,
    seed: int = 0,
) -> float:
    """Standard deviation of `statistic(first_indices, second_indices)` when whole clusters
    (data subjects) are resampled with replacement within each of the two samples.

    Records about one subject are not independent (one odd name raises the loss of all of its
    records), so resampling clusters, not records, gives an honest sampling-noise estimate."""
    draws = cluster_bootstrap_draws(first_clusters, second_clusters, repetitions=repetitions, seed=seed)
    values = np.array([statistic(i, j) for i, j in draws])
    return float(np.std(values, ddof=1))


def subject_means(scores, subjects) -> tuple[np.ndarray, list[str]]:
    """Mean record score per subject (sorted by subject key): requests are per person, so a
    subject-level attack asks whether a *person* was in training, not a record."""
    values = _as_scores(scores, "scores")
    subjects = np.asarray(subjects)
    if subjects.shape != values.shape:
        raise InvalidInput("one subject key per score is needed")
    keys = sorted(set(subjects.tolist()))
    return np.array([float(np.mean(values[subjects == key])) for key in keys]), keys
