"""LoRA adapters (peft) on a frozen GPT-2-style base: one adapter per SISA shard."""

from __future__ import annotations

import copy
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict
from transformers import GPT2LMHeadModel

from erasure_engine.errors import ObjectNotFound

# GPT-2 keeps attention and MLP projections in Conv1D layers (weights stored transposed).
GPT2_TARGET_MODULES = ["c_attn", "c_proj", "c_fc"]


def lora_config(*, rank: int = 4, alpha: int = 8) -> LoraConfig:
    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,  # determinism
        target_modules=GPT2_TARGET_MODULES,
        fan_in_fan_out=True,
        bias="none",
        task_type="CAUSAL_LM",
    )


def attach_lora(base: GPT2LMHeadModel, config: LoraConfig, *, seed: int) -> PeftModel:
    """A trainable adapter on a private copy of `base` (peft edits the model it wraps in place)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_peft_model(copy.deepcopy(base), config)


def adapter_state(model: PeftModel) -> dict[str, torch.Tensor]:
    """The active adapter's weights only: what a shard retrain may change."""
    # Embeddings belong to the frozen base; "auto" would make peft probe the base's files.
    return get_peft_model_state_dict(model, adapter_name=model.active_adapter, save_embedding_layers=False)


def load_lora(base: GPT2LMHeadModel, adapter_dir: str | Path, *, trainable: bool = False) -> PeftModel:
    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ObjectNotFound(f"no adapter_config.json in {adapter_dir}")
    return PeftModel.from_pretrained(copy.deepcopy(base), str(adapter_dir), is_trainable=trainable)
