"""GPT-2-style causal language models built from a small config (never downloaded)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

from erasure_engine.errors import InvalidInput, ObjectNotFound

# Named architectures; any key of GPT2Config may be overridden by the caller.
LM_SIZES: dict[str, dict] = {
    "tiny": {"n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 64},
    "small": {"n_embd": 128, "n_layer": 4, "n_head": 4, "n_positions": 128},
}
# sdpa is deterministic on the CPU and named explicitly so a reloaded model runs the exact
# same kernels as the one that was trained.
ATTENTION = "sdpa"


def lm_config(
    size: str = "tiny",
    *,
    tokenizer: PreTrainedTokenizerFast,
    overrides: dict | None = None,
) -> GPT2Config:
    """A GPT2Config for `size`, sized to the tokenizer, with every dropout at 0 (determinism)."""
    if size not in LM_SIZES:
        raise InvalidInput(f"unknown LM size {size!r}; choose one of {sorted(LM_SIZES)}")
    values = {
        **LM_SIZES[size],
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        **(overrides or {}),
    }
    return GPT2Config(**values)


def build_causal_lm(config: GPT2Config | dict, *, seed: int) -> GPT2LMHeadModel:
    """A freshly initialised model; the same config and seed always give the same weights."""
    if isinstance(config, dict):
        config = GPT2Config(**config)
    config._attn_implementation = ATTENTION
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        model = GPT2LMHeadModel(config)
    return model


def load_causal_lm(directory: str | Path) -> GPT2LMHeadModel:
    directory = Path(directory)
    if not (directory / "config.json").is_file():
        raise ObjectNotFound(f"no config.json in {directory}")
    return GPT2LMHeadModel.from_pretrained(str(directory), attn_implementation=ATTENTION)
