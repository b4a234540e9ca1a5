"""Per-record statistics of a causal LM on texts: token log-probs and the scores built on them.

Everything runs batched, without gradients, in the order given; a fixed batch size and order
give bit-identical numbers on the same machine and library versions.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from erasure_engine.errors import InvalidInput
from erasure_engine.models.scoring import encode_texts, model_max_length, padding_id


@dataclass(frozen=True)
class TokenScores:
    """For each predicted token t (every token after the first): log p(x_t | x_<t) and its
    Min-K%++ standardisation (log p − μ_t) / σ_t under the model's next-token distribution."""

    log_probs: np.ndarray
    z_scores: np.ndarray


def model_device(model) -> torch.device:
    for parameter in model.parameters():
        return parameter.device
    return torch.device("cpu")


def encode_text(tokenizer, text: str, *, max_length: int | None = None) -> list[int]:
    """Token ids exactly as training reads a text (`erasure_engine.models.encode_texts`): the
    text, then end-of-text, cut to the model's context length; no padding."""
    encoded = encode_texts(tokenizer, [text], max_length=max_length or 1_000_000, pad=False)
    ids = encoded["input_ids"][0][encoded["attention_mask"][0].bool()].tolist()
    if len(ids) < 2:
        raise InvalidInput(f"text {text[:40]!r} gives fewer than 2 tokens: nothing to score")
    return ids


def token_scores_from_logits(
    logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor
) -> list[TokenScores]:
    """Pure function of one batch: logits [B, T, V] at positions 0..T-1 predict ids 1..T."""
    logits, input_ids, attention_mask = logits.float().cpu(), input_ids.cpu(), attention_mask.cpu()
    log_probs = torch.log_softmax(logits[:, :-1], dim=-1)
    targets = input_ids[:, 1:]
    chosen = log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    probs = log_probs.exp()
    mean = (probs * log_probs).sum(-1)
    second_moment = (probs * log_probs.square()).sum(-1)
    std = (second_moment - mean.square()).clamp_min(1e-12).sqrt()
    z_scores = (chosen - mean) / std
    valid = attention_mask[:, 1:].bool() & attention_mask[:, :-1].bool()
    results = []
    for row in range(input_ids.shape[0]):
        mask = valid[row]
        results.append(
            TokenScores(
                log_probs=chosen[row][mask].double().numpy(),
                z_scores=z_scores[row][mask].double().numpy(),
            )
        )
    return results


def padded_batch(sequences: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(ids) for ids in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    return input_ids, attention_mask


def pad_token_id(tokenizer) -> int:
    return padding_id(tokenizer)


@torch.no_grad()
def sequence_token_scores(model, sequences: list[list[int]], *, pad_id: int, batch_size: int = 16) -> list[TokenScores]:
    """Right-padded batches in the given order; padding never reaches a scored position."""
    was_training = model.training
    model.eval()
    try:
        results: list[TokenScores] = []
        for start in range(0, len(sequences), batch_size):
            input_ids, attention_mask = padded_batch(sequences[start : start + batch_size], pad_id)
            device = model_device(model)
            logits = model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
            results.extend(token_scores_from_logits(logits, input_ids, attention_mask))
        return results
    finally:
        model.train(was_training)


def min_k_percent(values: np.ndarray, fraction: float) -> float:
    """Mean of the lowest ⌊fraction·n⌋ values (at least one). On log-probs this is Min-K%;
    on Min-K%++ z-scores it is Min-K%++."""
    if not 0.0 < fraction <= 1.0:
        raise InvalidInput(f"Min-K% fraction must lie in (0, 1], got {fraction}")
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise InvalidInput("Min-K% needs at least one token")
    count = max(1, int(math.floor(fraction * values.size)))
    return float(np.mean(np.sort(values, kind="mergesort")[:count]))


def zlib_length(text: str) -> int:
    """Bytes of the zlib-compressed UTF-8 text (level 9): a model-free measure of how much
    information the text holds."""
    return len(zlib.compress(text.encode("utf-8"), 9))


@dataclass(frozen=True)
class LMRecordStatistics:
    """One row per record, aligned with the texts given."""

    texts: list[str]
    token_scores: list[TokenScores]

    def __len__(self) -> int:
        return len(self.texts)

    @property
    def token_counts(self) -> np.ndarray:
        return np.array([scores.log_probs.size for scores in self.token_scores], dtype=np.int64)

    @property
    def losses(self) -> np.ndarray:
        """Mean negative log-likelihood per predicted token (nats)."""
        return np.array([-float(np.mean(s.log_probs)) for s in self.token_scores])

    @property
    def perplexities(self) -> np.ndarray:
        return np.exp(self.losses)

    @property
    def zlib_ratios(self) -> np.ndarray:
        """Loss divided by the zlib-compressed length in bytes (Carlini et al., 2021)."""
        return np.array([loss / zlib_length(text) for loss, text in zip(self.losses, self.texts)])

    def min_k(self, fraction: float) -> np.ndarray:
        return np.array([min_k_percent(s.log_probs, fraction) for s in self.token_scores])

    def min_k_plus_plus(self, fraction: float) -> np.ndarray:
        return np.array([min_k_percent(s.z_scores, fraction) for s in self.token_scores])

    def corpus_loss(self) -> float:
        """Token-weighted mean loss over all records: log of the corpus perplexity."""
        total = sum(float(np.sum(s.log_probs)) for s in self.token_scores)
        return -total / int(np.sum(self.token_counts))


def compute_lm_statistics(model, tokenizer, texts: list[str], *, batch_size: int = 16) -> LMRecordStatistics:
    if not texts:
        raise InvalidInput("no texts to score")
    max_length = model_max_length(model)
    sequences = [encode_text(tokenizer, text, max_length=max_length) for text in texts]
    scores = sequence_token_scores(model, sequences, pad_id=pad_token_id(tokenizer), batch_size=batch_size)
    return LMRecordStatistics(texts=list(texts), token_scores=scores)
