"""What a method needs to know about the model kind: how to turn records into batches and how to
score them. Two kinds: causal language models on text records, classifiers on feature records.

`nll` returns per-example summed negative log-likelihood and the number of scored targets, so
callers can take a token-mean (gradient ascent/difference) or a sequence log-likelihood (NPO).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import torch
from torch import nn
from torch.nn import functional as F

from erasure_engine.errors import InvalidInput
from erasure_engine.models.scoring import encode_texts, model_max_length, token_log_probs
from erasure_engine.records import Record

Batch = dict[str, torch.Tensor]
DEFAULT_MAX_LENGTH = 64  # the models' own default when a config names no context size


class Task(Protocol):
    kind: str

    def prepare(self, records: Sequence[Record], role: str) -> list: ...

    def collate(self, items: Sequence, device: torch.device) -> Batch: ...

    def nll(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]: ...


def model_device(model: nn.Module) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def mean_nll(task: Task, model: nn.Module, batch: Batch) -> torch.Tensor:
    """Mean over every scored target in the batch (token-mean for language models)."""
    summed, counts = task.nll(model, batch)
    return summed.sum() / counts.sum().clamp(min=1)


def _logits(output) -> torch.Tensor:
    return output if isinstance(output, torch.Tensor) else output.logits


def _vocab_size(model: nn.Module) -> int | None:
    embeddings = getattr(model, "get_input_embeddings", None)
    if callable(embeddings):
        layer = embeddings()
        if layer is not None:
            return int(layer.num_embeddings)
    size = getattr(getattr(model, "config", None), "vocab_size", None)
    return int(size) if size is not None else None


class LanguageModelTask:
    """Text records (`content["text"]`) scored by a causal LM with next-token prediction, encoded
    exactly as training and verification encode them (`models.encode_texts`: text + end-of-text)."""

    kind = "causal_lm"

    def __init__(self, model: nn.Module, tokenizer) -> None:
        if tokenizer is None:
            raise InvalidInput("text records need a tokenizer for the language model")
        model_vocab = _vocab_size(model)
        if model_vocab is None:
            raise InvalidInput("text records need a language model (one with input embeddings and a vocabulary)")
        if len(tokenizer) > model_vocab:
            raise InvalidInput(
                f"tokenizer has {len(tokenizer)} tokens but the model's vocabulary holds {model_vocab}: "
                "they were not trained together"
            )
        self.tokenizer = tokenizer
        self.max_length = model_max_length(model) or DEFAULT_MAX_LENGTH

    def prepare(self, records: Sequence[Record], role: str) -> list[tuple[str, int]]:
        """(text, encoded length) per record; the length lets each batch pad only as far as it needs."""
        prepared = []
        for record in records:
            text = record.content.get("text")
            if not isinstance(text, str) or not text:
                raise InvalidInput(f"{role} record {record.record_id} has no text for the language model")
            length = min(len(self.tokenizer(text + self.tokenizer.eos_token)["input_ids"]), self.max_length)
            prepared.append((text, length))
        return prepared

    def collate(self, items: Sequence[tuple[str, int]], device: torch.device) -> Batch:
        encoded = encode_texts(
            self.tokenizer, [text for text, _ in items], max_length=max(length for _, length in items)
        )
        return {"input_ids": encoded["input_ids"].to(device), "attention_mask": encoded["attention_mask"].to(device)}

    def nll(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        logits = _logits(model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]))
        mask = batch["attention_mask"][:, 1:].to(torch.float32)
        return -(token_log_probs(logits, batch["input_ids"]) * mask).sum(dim=1), mask.sum(dim=1)


def _linear_widths(model: nn.Module) -> tuple[int | None, int | None]:
    """(input width of the first linear layer, output width of the last): features and classes."""
    linears = [module for module in model.modules() if isinstance(module, nn.Linear)]
    if not linears:
        return None, None
    return int(linears[0].in_features), int(linears[-1].out_features)


@dataclass(frozen=True)
class _Example:
    features: list[float]
    label: int


class ClassifierTask:
    """Feature records (`content["features"]`, `content["label"]`) scored by cross-entropy."""

    kind = "classifier"

    def __init__(self, model: nn.Module) -> None:
        self.width, self.classes = _linear_widths(model)

    def prepare(self, records: Sequence[Record], role: str) -> list[_Example]:
        examples = []
        for record in records:
            features, label = record.content.get("features"), record.content.get("label")
            if not isinstance(features, list) or not isinstance(label, int) or isinstance(label, bool):
                raise InvalidInput(f"{role} record {record.record_id} needs a feature list and an integer label")
            if self.width is not None and len(features) != self.width:
                raise InvalidInput(
                    f"{role} record {record.record_id} has {len(features)} features; the model expects {self.width}"
                )
            if label < 0 or (self.classes is not None and label >= self.classes):
                raise InvalidInput(
                    f"{role} record {record.record_id} has label {label}; the model has {self.classes} classes"
                )
            examples.append(_Example([float(value) for value in features], label))
        return examples

    def collate(self, items: Sequence[_Example], device: torch.device) -> Batch:
        return {
            "features": torch.tensor([item.features for item in items], dtype=torch.float32, device=device),
            "labels": torch.tensor([item.label for item in items], dtype=torch.long, device=device),
        }

    def nll(self, model: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor]:
        logits = _logits(model(batch["features"]))
        per_example = F.cross_entropy(logits.float(), batch["labels"], reduction="none")
        return per_example, torch.ones_like(per_example)


def task_for(model: nn.Module, tokenizer, records: Sequence[Record]) -> Task:
    """Pick the task from the records: all text → language model, all features → classifier."""
    has_text = [isinstance(record.content.get("text"), str) for record in records]
    has_features = [isinstance(record.content.get("features"), list) for record in records]
    if all(has_text):
        return LanguageModelTask(model, tokenizer)
    if all(has_features):
        return ClassifierTask(model)
    raise InvalidInput("records must all be text (language model) or all be features + label (classifier)")
