"""LoRA adapters (peft) on a frozen causal-LM base of any architecture: one adapter per SISA
shard, or the whole change of LoRA-based forgetting.

Target layers come from peft's per-architecture defaults (q/v projections, GPT-2's c_attn, ...)
when peft knows the model type, else from the model's own linear layers."""

from __future__ import annotations

import copy
import dataclasses
from pathlib import Path

import torch
from peft import LoraConfig, PeftModel, get_peft_model, get_peft_model_state_dict
from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
from torch import nn
from transformers.pytorch_utils import Conv1D

from erasure_engine.errors import InvalidInput, ObjectNotFound

# GPT-2 keeps attention and MLP projections in Conv1D layers (weights stored transposed).
GPT2_TARGET_MODULES = ["c_attn", "c_proj", "c_fc"]
ADAPTABLE = (nn.Linear, Conv1D)


def _matches(name: str, wanted: str) -> bool:
    return name == wanted or name.endswith("." + wanted)


def adaptable_layers(model: nn.Module) -> dict[str, nn.Module]:
    """Every linear (or GPT-2 Conv1D) layer but the output head, by full name."""
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    return {
        name: module for name, module in model.named_modules() if isinstance(module, ADAPTABLE) and module is not head
    }


def lora_targets(model: nn.Module, requested: str = "auto") -> list[str]:
    """Full names of the layers to adapt.

    "auto": peft's default layers for the model's architecture (config.model_type) when peft
    knows it and they exist in the model, else every linear layer but the output head;
    "all-linear": every linear layer but the output head; else comma-separated layer names
    (each matching a full name or its last part)."""
    layers = adaptable_layers(model)
    if requested in ("auto", "all-linear"):
        chosen = list(layers)
        model_type = getattr(getattr(model, "config", None), "model_type", None)
        defaults = TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type) if requested == "auto" else None
        if defaults:
            by_default = [name for name in layers if any(_matches(name, wanted) for wanted in defaults)]
            chosen = by_default or chosen
    else:
        wanted = [part.strip() for part in requested.split(",") if part.strip()]
        adaptable = {name: module for name, module in model.named_modules() if isinstance(module, ADAPTABLE)}
        chosen = [name for name in adaptable if any(_matches(name, w) for w in wanted)]
        missing = [w for w in wanted if not any(_matches(name, w) for name in adaptable)]
        if missing:
            raise InvalidInput(f"parameter 'target_modules': no linear layer named {', '.join(missing)} in the model")
    if not chosen:
        raise InvalidInput("parameter 'target_modules': the model has no linear layer to adapt")
    return chosen


def stores_transposed(model: nn.Module, targets: list[str]) -> bool:
    """peft's fan_in_fan_out: True when the targets are GPT-2 style Conv1D layers (weights transposed)."""
    modules = dict(model.named_modules())
    return all(isinstance(modules[name], Conv1D) for name in targets)


def lora_config(*, rank: int = 4, alpha: int = 8, target_modules: list[str] | None = None) -> LoraConfig:
    """A deterministic LoRA config; target layers default to GPT-2's and are re-chosen by
    `attach_lora` for a base of another architecture."""
    return LoraConfig(
        r=rank,
        lora_alpha=alpha,
        lora_dropout=0.0,  # determinism
        target_modules=list(target_modules or GPT2_TARGET_MODULES),
        fan_in_fan_out=True,
        bias="none",
        task_type="CAUSAL_LM",
    )


def config_for_base(base: nn.Module, config: LoraConfig) -> LoraConfig:
    """`config` with target layers that exist in `base`: kept when they match, else the base's own."""
    names = [name for name, _ in base.named_modules()]
    requested = config.target_modules
    if isinstance(requested, str):
        return config
    if requested and all(any(_matches(name, wanted) for name in names) for wanted in requested):
        targets = [name for name in adaptable_layers(base) if any(_matches(name, w) for w in requested)]
        return dataclasses.replace(
            config, target_modules=list(requested), fan_in_fan_out=stores_transposed(base, targets)
        )
    targets = lora_targets(base)
    return dataclasses.replace(config, target_modules=targets, fan_in_fan_out=stores_transposed(base, targets))


def attach_lora(base: nn.Module, config: LoraConfig, *, seed: int) -> PeftModel:
    """A trainable adapter on a private copy of `base` (peft edits the model it wraps in place)."""
    config = config_for_base(base, config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return get_peft_model(copy.deepcopy(base), config)


def adapter_state(model: PeftModel) -> dict[str, torch.Tensor]:
    """The active adapter's weights only: what a shard retrain may change."""
    # Embeddings belong to the frozen base; "auto" would make peft probe the base's files.
    return get_peft_model_state_dict(model, adapter_name=model.active_adapter, save_embedding_layers=False)


def load_lora(base: nn.Module, adapter_dir: str | Path, *, trainable: bool = False) -> PeftModel:
    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ObjectNotFound(f"no adapter_config.json in {adapter_dir}")
    if not (adapter_dir / "adapter_model.safetensors").is_file():
        raise ObjectNotFound(f"no adapter_model.safetensors in {adapter_dir} (pickle adapters are refused)")
    return PeftModel.from_pretrained(copy.deepcopy(base), str(adapter_dir), is_trainable=trainable)
