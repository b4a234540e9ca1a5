"""Per-record statistics of a classifier on tabular records: loss, confidence, correctness."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record


def tabular_tensors(records: list[Record]) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        features = torch.tensor([record.content["features"] for record in records], dtype=torch.float32)
        labels = torch.tensor([int(record.content["label"]) for record in records], dtype=torch.long)
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput(f"classifier records need content {{'features': [...], 'label': int}} ({error})") from None
    return features, labels


@dataclass(frozen=True)
class ClassifierRecordStatistics:
    losses: np.ndarray  # cross-entropy of the true label
    confidences: np.ndarray  # softmax probability of the true label
    correct: np.ndarray  # bool: arg-max equals the label

    def __len__(self) -> int:
        return int(self.losses.size)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct))


@torch.no_grad()
def compute_classifier_statistics(model, records: list[Record], *, batch_size: int = 256) -> ClassifierRecordStatistics:
    if not records:
        raise InvalidInput("no records to score")
    features, labels = tabular_tensors(records)
    was_training = model.training
    model.eval()
    try:
        logits = torch.cat([model(features[i : i + batch_size]) for i in range(0, len(records), batch_size)])
    finally:
        model.train(was_training)
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    true_log_probs = log_probs.gather(-1, labels.unsqueeze(-1)).squeeze(-1)
    return ClassifierRecordStatistics(
        losses=(-true_log_probs).double().numpy(),
        confidences=true_log_probs.exp().double().numpy(),
        correct=(logits.argmax(-1) == labels).numpy(),
    )
