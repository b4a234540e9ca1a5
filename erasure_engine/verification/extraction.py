"""Verbatim extraction: feed the first part of a training text, decode greedily, and score how
much of the true continuation comes back (ROUGE-L F-measure)."""

from __future__ import annotations

import numpy as np

from erasure_engine.verification.generation import greedy_continuations
from erasure_engine.verification.lm_statistics import encode_text, model_max_length
from erasure_engine.verification.metrics import rouge_l


def split_for_extraction(ids: list[int], prefix_fraction: float, max_new_tokens: int) -> tuple[list[int], list[int]]:
    """Prefix = the first round(fraction·n) tokens (at least one, leaving at least one);
    continuation = the next tokens, at most `max_new_tokens`."""
    prefix_length = min(max(1, round(prefix_fraction * len(ids))), len(ids) - 1)
    return ids[:prefix_length], ids[prefix_length : prefix_length + max_new_tokens]


def extraction_scores(
    model, tokenizer, texts: list[str], *, prefix_fraction: float, max_new_tokens: int, batch_size: int = 16
) -> np.ndarray:
    """ROUGE-L F of the greedy continuation against the true continuation, per text."""
    max_length = model_max_length(model)
    splits = [
        split_for_extraction(encode_text(tokenizer, text, max_length=max_length), prefix_fraction, max_new_tokens)
        for text in texts
    ]
    generated = greedy_continuations(
        model, [prefix for prefix, _ in splits], [len(truth) for _, truth in splits], batch_size=batch_size
    )
    return np.array(
        [
            rouge_l(
                tokenizer.decode(output, skip_special_tokens=True), tokenizer.decode(truth, skip_special_tokens=True)
            ).fmeasure
            for output, (_, truth) in zip(generated, splits)
        ]
    )
