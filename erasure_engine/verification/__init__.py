"""Verification of unlearned models: attacks, probes, metrics and a verdict against a policy.

See docs/metrics.md for every metric's formula, direction and default threshold."""

from erasure_engine.verification.classifier_statistics import ClassifierRecordStatistics, compute_classifier_statistics
from erasure_engine.verification.lira import ReferenceModel, lira_scores
from erasure_engine.verification.lm_statistics import (
    LMRecordStatistics,
    TokenScores,
    compute_lm_statistics,
    min_k_percent,
    token_scores_from_logits,
    zlib_length,
)
from erasure_engine.verification.membership import MembershipResult, membership_attack
from erasure_engine.verification.metrics import (
    KsResult,
    RocCurve,
    RougeL,
    cluster_bootstrap_std,
    ks_two_sample,
    privleak,
    roc_auc,
    roc_curve,
    rouge_l,
    tpr_at_fpr,
)
from erasure_engine.verification.plots import write_report
from erasure_engine.verification.policy import VerificationPolicy
from erasure_engine.verification.verdict import FAILED, INCONCLUSIVE, PASSED, SCHEMA_VERSION, MetricResult, Verdict
from erasure_engine.verification.verify import metric_names, verify

__all__ = [
    "FAILED",
    "metric_names",
    "INCONCLUSIVE",
    "PASSED",
    "ReferenceModel",
    "SCHEMA_VERSION",
    "lira_scores",
    "ClassifierRecordStatistics",
    "KsResult",
    "LMRecordStatistics",
    "MembershipResult",
    "MetricResult",
    "RocCurve",
    "RougeL",
    "TokenScores",
    "Verdict",
    "VerificationPolicy",
    "cluster_bootstrap_std",
    "compute_classifier_statistics",
    "compute_lm_statistics",
    "ks_two_sample",
    "membership_attack",
    "min_k_percent",
    "privleak",
    "roc_auc",
    "roc_curve",
    "rouge_l",
    "token_scores_from_logits",
    "tpr_at_fpr",
    "verify",
    "write_report",
    "zlib_length",
]
