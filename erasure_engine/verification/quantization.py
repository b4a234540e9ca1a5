"""Quantization attack: round a COPY's weights to few bits and probe again.

Unlearning by small weight changes can sit below the quantization step, so rounding restores
the original model (Zhang et al., 2024, "Catastrophic failure of LLM unlearning via
quantization"). We simulate it on the CPU: symmetric per-output-channel round-to-nearest
("fake quantization"), weights stored back in float."""

from __future__ import annotations

import copy

import torch
from transformers.pytorch_utils import Conv1D


def fake_quantize(weight: torch.Tensor, bits: int, channel_dim: int) -> torch.Tensor:
    """w ↦ clamp(round(w / s), −q, q) · s with q = 2^(bits−1) − 1 and s = max|w| / q taken per
    output channel (all weights sharing an index along `channel_dim`). A zero channel stays zero."""
    levels = 2 ** (bits - 1) - 1
    reduce_dims = [d for d in range(weight.dim()) if d != channel_dim]
    scale = weight.abs().amax(dim=reduce_dims, keepdim=True) / levels
    safe_scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    quantized = torch.clamp(torch.round(weight / safe_scale), -levels, levels) * safe_scale
    return torch.where(scale > 0, quantized, torch.zeros_like(weight))


@torch.no_grad()
def quantized_copy(model: torch.nn.Module, bits: int) -> torch.nn.Module:
    """Fake-quantize every Linear (output channels = rows) and GPT-2 Conv1D (output channels =
    columns) weight of a deep copy, whatever the architecture. Embeddings and the LM head (tied
    to them or not) are left alone, as weight-only quantization schemes keep embeddings in higher precision (every
    embedding counts: an ensemble module holds one per shard)."""
    quantized = copy.deepcopy(model)
    tied = {id(module.weight) for module in quantized.modules() if isinstance(module, torch.nn.Embedding)}
    # An untied output head (Llama, Qwen2, ...) is kept in precision like the embeddings it mirrors.
    for module in quantized.modules():
        head = module.get_output_embeddings() if hasattr(module, "get_output_embeddings") else None
        if isinstance(head, torch.nn.Module) and getattr(head, "weight", None) is not None:
            tied.add(id(head.weight))
    for module in quantized.modules():
        if isinstance(module, torch.nn.Linear):
            channel_dim = 0
        elif isinstance(module, Conv1D):
            channel_dim = 1
        else:
            continue
        if id(module.weight) in tied:
            continue
        module.weight.copy_(fake_quantize(module.weight, bits, channel_dim))
    quantized.eval()
    return quantized
