"""Greedy decoding for probes: a fixed number of new tokens, no sampling, no early stop."""

from __future__ import annotations

import torch

from erasure_engine.verification.lm_statistics import model_device, model_max_length


@torch.no_grad()
def greedy_continuations(
    model, prompts: list[list[int]], new_token_counts: list[int], *, batch_size: int = 16
) -> list[list[int]]:
    """Arg-max continuation of each prompt, `new_token_counts[i]` tokens long.

    Prompts are left-padded into batches in the order given (whatever the tokenizer's padding
    side: ids are padded here); attention masks and explicit position ids keep padding out of the
    computation for every architecture, so a batch decodes as each prompt would alone."""
    was_training = model.training
    model.eval()
    results: list[list[int]] = []
    try:
        for start in range(0, len(prompts), batch_size):
            batch = prompts[start : start + batch_size]
            counts = new_token_counts[start : start + batch_size]
            steps = max(counts)
            if steps == 0:
                results.extend([] for _ in batch)
                continue
            generated = _greedy_batch(model, batch, steps)
            results.extend(generated[row, :count].tolist() for row, count in enumerate(counts))
    finally:
        model.train(was_training)
    return results


def _greedy_batch(model, prompts: list[list[int]], steps: int) -> torch.Tensor:
    width = max(len(prompt) for prompt in prompts)
    input_ids = torch.zeros((len(prompts), width), dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        input_ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        attention_mask[row, width - len(prompt) :] = 1
    position_ids = (attention_mask.cumsum(-1) - 1).clamp_min(0)
    device = model_device(model)
    input_ids, attention_mask, position_ids = input_ids.to(device), attention_mask.to(device), position_ids.to(device)
    max_positions = model_max_length(model)
    output = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, use_cache=True)
    generated = []
    for step in range(steps):
        next_tokens = output.logits[:, -1].argmax(-1)
        generated.append(next_tokens)
        if step == steps - 1:
            break
        input_ids = torch.cat([input_ids, next_tokens.unsqueeze(-1)], dim=1)
        attention_mask = torch.cat([attention_mask, torch.ones_like(next_tokens).unsqueeze(-1)], dim=1)
        # A row past its own count (the batch runs to the longest) may step beyond the context;
        # those tokens are discarded, so clamping their positions changes no kept token.
        next_position = position_ids[:, -1:] + 1
        if max_positions is not None:
            next_position = next_position.clamp_max(max_positions - 1)
        position_ids = torch.cat([position_ids, next_position], dim=1)
        cache = getattr(output, "cache", None)  # transformers >= 5 names the KV cache `cache`
        if cache is not None:
            output = model(
                input_ids=input_ids[:, -1:],
                attention_mask=attention_mask,
                position_ids=position_ids[:, -1:],
                cache=cache,
                use_cache=True,
            )
        else:  # no KV cache: re-read the whole sequence
            output = model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids)
    return torch.stack(generated, dim=1).cpu()
