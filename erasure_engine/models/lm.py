"""Causal language models: built here from small configs (GPT-2 by default, or any family
transformers ships), or loaded from a save_pretrained directory by the architecture it declares.

Loading never falls back to another architecture or to random weights: pickle checkpoints are
refused, and so is a checkpoint whose tensors do not match its config (see `checkpoints`)."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import AutoConfig, AutoModelForCausalLM, GPT2Config, PretrainedConfig, PreTrainedModel

from erasure_engine.errors import InvalidInput
from erasure_engine.models.checkpoints import checked_from_pretrained
from erasure_engine.models.devices import resolve_device, resolve_dtype

# Named sizes of the default architecture (GPT-2); any key of GPT2Config may be overridden.
LM_SIZES: dict[str, dict] = {
    "tiny": {"n_embd": 32, "n_layer": 2, "n_head": 2, "n_positions": 64},
    "small": {"n_embd": 128, "n_layer": 4, "n_head": 4, "n_positions": 128},
}
DEFAULT_ARCHITECTURE = "gpt2"

# The same sizes for other families transformers ships, in each family's own key names, every
# dropout at 0 (determinism). Used to build small models here, e.g. to test a family end to end.
_LLAMA_LIKE = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "max_position_embeddings": 64,
    "attention_dropout": 0.0,
}
ARCHITECTURE_SIZES: dict[str, dict[str, dict]] = {
    "gpt2": {
        size: {**values, "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0} for size, values in LM_SIZES.items()
    },
    "llama": {"tiny": dict(_LLAMA_LIKE)},
    "qwen2": {"tiny": {**_LLAMA_LIKE, "use_sliding_window": False}},
    "mistral": {"tiny": {**_LLAMA_LIKE, "sliding_window": None}},
    "gpt_neox": {
        "tiny": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "rotary_pct": 0.5,
            "hidden_dropout": 0.0,
            "attention_dropout": 0.0,
            "use_parallel_residual": True,
        }
    },
    "phi": {
        "tiny": {
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "max_position_embeddings": 64,
            "partial_rotary_factor": 0.5,
            "resid_pdrop": 0.0,
            "embd_pdrop": 0.0,
            "attention_dropout": 0.0,
        }
    },
    "opt": {
        "tiny": {
            "hidden_size": 32,
            "ffn_dim": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 2,
            "word_embed_proj_dim": 32,
            "max_position_embeddings": 64,
            "dropout": 0.0,
            "attention_dropout": 0.0,
            "layerdrop": 0.0,
            "activation_dropout": 0.0,
        }
    },
}
# sdpa is deterministic on the CPU and named explicitly so a reloaded model runs the exact
# same kernels as the one that was trained.
ATTENTION = "sdpa"


def lm_config(
    size: str = "tiny",
    *,
    tokenizer,
    overrides: dict | None = None,
    architecture: str = DEFAULT_ARCHITECTURE,
) -> PretrainedConfig:
    """A config of `architecture` (a transformers model_type) at `size`, sized to the tokenizer,
    with every dropout at 0 (determinism)."""
    sizes = ARCHITECTURE_SIZES.get(architecture)
    if sizes is None:
        raise InvalidInput(f"unknown LM architecture {architecture!r}; choose one of {sorted(ARCHITECTURE_SIZES)}")
    if size not in sizes:
        raise InvalidInput(f"unknown LM size {size!r} for {architecture}; choose one of {sorted(sizes)}")
    values = {
        **sizes[size],
        "vocab_size": len(tokenizer),
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        **(overrides or {}),
    }
    if architecture == DEFAULT_ARCHITECTURE:
        return GPT2Config(**values)
    return AutoConfig.for_model(architecture, **values)


def config_from_dict(values: dict) -> PretrainedConfig:
    """A config from its dict form: by its `model_type`, GPT-2 when it names none (older records)."""
    values = dict(values)
    model_type = values.pop("model_type", DEFAULT_ARCHITECTURE)
    values.pop("transformers_version", None)
    try:
        return AutoConfig.for_model(model_type, **values)
    except ValueError as error:
        raise InvalidInput(f"unsupported model_type {model_type!r}: {error}") from None


def build_causal_lm(config: PretrainedConfig | dict, *, seed: int) -> PreTrainedModel:
    """A freshly initialised model of the config's architecture; the same config and seed always
    give the same weights."""
    if isinstance(config, dict):
        config = config_from_dict(config)
    with torch.random.fork_rng(devices=[]):  # leave the caller's global RNG untouched
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, attn_implementation=ATTENTION, dtype=torch.float32)
    return model


def load_causal_lm(
    directory: str | Path,
    *,
    device: str | torch.device | None = "cpu",
    dtype: str | torch.dtype | None = None,
    gradient_checkpointing: bool = False,
) -> PreTrainedModel:
    """The causal LM saved in `directory`, as the architecture its config.json declares.

    safetensors only; raises InvalidInput for a pickle-only checkpoint, an unknown or custom-code
    architecture, or weights that do not match the config (never a random initialisation).
    `device` "auto" picks a GPU when there is one; `dtype` None/"auto" is bfloat16 on a GPU that
    supports it and float32 on the CPU."""
    target = resolve_device(device)
    model = checked_from_pretrained(
        AutoModelForCausalLM, directory, dtype=resolve_dtype(dtype, target), attn_implementation=ATTENTION
    )
    model.to(target)
    if gradient_checkpointing:
        enable_gradient_checkpointing(model)
    return model


def enable_gradient_checkpointing(model: PreTrainedModel) -> None:
    """Recompute activations in the backward pass: less memory for full-model methods on big models."""
    if not getattr(model, "supports_gradient_checkpointing", False):
        raise InvalidInput(f"{type(model).__name__} does not support gradient checkpointing")
    if hasattr(model, "activation_checkpointing_enable"):  # the name since transformers 5
        model.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})
    else:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    model.config.use_cache = False


def checkpointing_enabled(model: torch.nn.Module) -> bool:
    """Whether any layer of `model` recomputes activations (set by `enable_gradient_checkpointing`)."""
    return any(getattr(module, "gradient_checkpointing", False) is True for module in model.modules())
