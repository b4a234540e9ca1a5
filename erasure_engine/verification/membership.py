"""Membership inference: score each record, then ask how well the scores separate records the
model was trained on (members: the forget set) from records it never saw (the holdout).

Every score is oriented so that higher means "more likely a member"."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from erasure_engine.errors import InvalidInput
from erasure_engine.verification.classifier_statistics import ClassifierRecordStatistics
from erasure_engine.verification.lm_statistics import LMRecordStatistics
from erasure_engine.verification.metrics import RocCurve, roc_auc, roc_curve, tpr_at_fpr

LM_STATISTICS = ("loss", "zlib", "min_k", "min_k_pp", "reference")
CLASSIFIER_STATISTICS = ("loss", "confidence")


def lm_membership_scores(
    stats: LMRecordStatistics, *, min_k_fraction: float, reference: LMRecordStatistics | None = None
) -> dict[str, np.ndarray]:
    """loss: −loss; zlib: −loss/zlib bytes; min_k: Min-K% of log-probs; min_k_pp: Min-K%++;
    reference: −(loss − reference model's loss), only when a reference model scored the same texts."""
    losses = stats.losses
    scores = {
        "loss": -losses,
        "zlib": -stats.zlib_ratios,
        "min_k": stats.min_k(min_k_fraction),
        "min_k_pp": stats.min_k_plus_plus(min_k_fraction),
    }
    if reference is not None:
        if reference.texts != stats.texts:
            raise InvalidInput("the reference model must score the same texts as the target model")
        scores["reference"] = -(losses - reference.losses)
    return scores


def classifier_membership_scores(stats: ClassifierRecordStatistics) -> dict[str, np.ndarray]:
    """loss: −cross-entropy of the true label; confidence: softmax probability of the true label."""
    return {"loss": -stats.losses, "confidence": stats.confidences}


@dataclass(frozen=True)
class MembershipResult:
    auc: float
    tpr_at_low_fpr: float
    low_fpr: float
    roc: RocCurve

    def to_json(self) -> dict:
        return {"auc": self.auc, "tpr_at_low_fpr": self.tpr_at_low_fpr, "low_fpr": self.low_fpr}


def membership_attack(member_scores, nonmember_scores, *, low_fpr: float = 0.01) -> MembershipResult:
    return MembershipResult(
        auc=roc_auc(member_scores, nonmember_scores),
        tpr_at_low_fpr=tpr_at_fpr(member_scores, nonmember_scores, low_fpr),
        low_fpr=low_fpr,
        roc=roc_curve(member_scores, nonmember_scores),
    )
