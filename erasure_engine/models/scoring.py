"""Per-record scores for causal LMs: the verification attacks and perplexity build on these."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

# logits for (input_ids, attention_mask): lets an ensemble plug in its own aggregation.
LogitsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def padding_id(tokenizer) -> int:
    """The id padding positions hold (never scored): the tokenizer's pad token, else end-of-text."""
    for candidate in (tokenizer.pad_token_id, tokenizer.eos_token_id):
        if candidate is not None:
            return int(candidate)
    return 0


def encode_texts(tokenizer, texts: Sequence[str], *, max_length: int, pad: bool = True) -> dict[str, torch.Tensor]:
    """Each text + end-of-text (with the tokenizer's own special tokens), right-padded to
    `max_length` whatever the tokenizer's padding side: scoring reads position t as predicting
    t + 1, and fixed shapes keep training deterministic (`pad=False`: only to the longest text)."""
    end = tokenizer.eos_token or ""
    encoded = tokenizer([text + end for text in texts], truncation=True, max_length=max_length)["input_ids"]
    width = max_length if pad else max((len(ids) for ids in encoded), default=0)
    input_ids = torch.full((len(texts), width), padding_id(tokenizer), dtype=torch.long)
    attention_mask = torch.zeros((len(texts), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}


def token_log_probs(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """log p(token_t | tokens_<t) for t >= 1; shape (batch, length - 1)."""
    log_probs = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    return log_probs.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)


def model_logits_fn(model: nn.Module) -> LogitsFn:
    def logits(input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        device = next(model.parameters()).device
        return model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits.float().cpu()

    return logits


@torch.no_grad()
def record_token_nll(
    logits_fn: LogitsFn | nn.Module,
    tokenizer,
    texts: Sequence[str],
    *,
    max_length: int = 64,
    batch_size: int = 32,
) -> list[tuple[float, int]]:
    """(summed negative log-likelihood, number of predicted tokens) per text."""
    if isinstance(logits_fn, nn.Module):
        logits_fn = model_logits_fn(logits_fn)
    results: list[tuple[float, int]] = []
    for start in range(0, len(texts), batch_size):
        batch = encode_texts(tokenizer, texts[start : start + batch_size], max_length=max_length)
        logits = logits_fn(batch["input_ids"], batch["attention_mask"])
        picked = token_log_probs(logits, batch["input_ids"])
        mask = batch["attention_mask"][:, 1:].float()
        nll = -(picked * mask).sum(dim=1)
        results.extend((float(total), int(count)) for total, count in zip(nll, mask.sum(dim=1)))
    return results


def record_losses(
    model: LogitsFn | nn.Module,
    tokenizer,
    texts: Sequence[str],
    *,
    max_length: int = 64,
    batch_size: int = 32,
) -> list[float]:
    """Mean per-token negative log-likelihood of each text (the usual membership-attack loss)."""
    return [
        total / max(count, 1)
        for total, count in record_token_nll(model, tokenizer, texts, max_length=max_length, batch_size=batch_size)
    ]


def perplexity(
    model: LogitsFn | nn.Module,
    tokenizer,
    texts: Sequence[str],
    *,
    max_length: int = 64,
    batch_size: int = 32,
) -> float:
    """exp(total NLL / total predicted tokens) over all texts."""
    pairs = record_token_nll(model, tokenizer, texts, max_length=max_length, batch_size=batch_size)
    total = sum(nll for nll, _ in pairs)
    count = sum(n for _, n in pairs)
    return float(torch.exp(torch.tensor(total / max(count, 1))))


def model_max_length(model) -> int | None:
    """How many tokens a causal LM takes: GPT-2's config names it n_positions, most families
    max_position_embeddings; None when the config says neither."""
    config = getattr(model, "config", None)
    for name in ("n_positions", "max_position_embeddings"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None
