"""How much memory a job will need, estimated before it starts, so a model that cannot fit is
refused with a clear message instead of failing (or swapping) hours later.

The estimate is deliberately simple and on the safe side: weights, the copies the engine keeps
(unlearning works on a copy; verification holds candidate, parent and attack copies), gradients,
AdamW's two moments, importances (SSD), and activations of one batch (per layer and the logits)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from erasure_engine.errors import InvalidInput

GIB = 1 << 30
FULL_MODEL_METHODS = ("gradient_ascent", "gradient_difference", "npo")
# Activation bytes kept per token, per layer, per hidden unit for the backward pass (attention
# and MLP intermediates; about 16 values with sdpa), and the float32 logits + log-softmax.
ACTIVATION_VALUES_PER_HIDDEN = 16
WARN_FRACTION = 0.9


@dataclass(frozen=True)
class ModelShape:
    parameters: int
    hidden_size: int
    layers: int
    vocab_size: int
    max_positions: int = 0


@dataclass
class MemoryEstimate:
    job: str
    device: str
    dtype: str
    parts: dict[str, int] = field(default_factory=dict)  # bytes by what holds them

    @property
    def total(self) -> int:
        return sum(self.parts.values())

    def describe(self) -> str:
        parts = ", ".join(f"{name} {size / GIB:.2f}" for name, size in self.parts.items() if size)
        return f"{self.job} on {self.device} in {self.dtype}: about {self.total / GIB:.2f} GiB ({parts} GiB)"

    def to_json(self) -> dict:
        return {
            "job": self.job,
            "device": self.device,
            "dtype": self.dtype,
            "total_bytes": self.total,
            "parts": dict(self.parts),
        }


def _config_shape(config) -> ModelShape:
    def first(*names, default=0):
        for name in names:
            value = getattr(config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        return default

    return ModelShape(
        parameters=0,
        hidden_size=first("hidden_size", "n_embd", "d_model"),
        layers=first("num_hidden_layers", "n_layer", "num_layers"),
        vocab_size=first("vocab_size"),
        max_positions=first("max_position_embeddings", "n_positions"),
    )


def model_shape(model: nn.Module) -> ModelShape:
    config = getattr(model, "config", None)
    shape = _config_shape(config) if config is not None else ModelShape(0, 0, 0, 0)
    parameters = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    return ModelShape(parameters, shape.hidden_size, shape.layers, shape.vocab_size, shape.max_positions)


def saved_model_shape(directory: str | Path) -> ModelShape:
    """The shape of the causal LM saved in `directory`, from its config alone (weights not read:
    the architecture is built on the meta device, which allocates nothing)."""
    from transformers import AutoConfig, AutoModelForCausalLM

    config_path = Path(directory) / "config.json"
    if not config_path.is_file():
        raise InvalidInput(f"no config.json in {directory}")
    if json.loads(config_path.read_text()).get("model_type") == "mlp_classifier":
        return ModelShape(0, 0, 0, 0)
    try:
        config = AutoConfig.from_pretrained(str(directory), trust_remote_code=False, local_files_only=True)
    except (ValueError, OSError) as error:
        raise InvalidInput(f"cannot read the model config in {directory}: {error}") from None
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    return model_shape(model)


def _activations(
    shape: ModelShape, *, batch_size: int, sequence_length: int, dtype_bytes: int, checkpointing: bool
) -> int:
    tokens = batch_size * sequence_length
    per_layer = tokens * shape.hidden_size * ACTIVATION_VALUES_PER_HIDDEN * dtype_bytes
    # Checkpointing keeps each layer's input and recomputes one layer at a time.
    layers = (
        per_layer + shape.layers * tokens * shape.hidden_size * dtype_bytes
        if checkpointing
        else per_layer * shape.layers
    )
    logits = 3 * tokens * shape.vocab_size * 4  # logits, float32 log-softmax and its gradient
    return layers + logits


def estimate_memory(
    shape: ModelShape,
    job: str,
    *,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    batch_size: int = 8,
    sequence_length: int = 512,
    gradient_checkpointing: bool = False,
    lora_fraction: float = 0.01,
) -> MemoryEstimate:
    """Bytes a job needs: `job` is an approximate method name, or "verify"."""
    dtype_bytes = torch.tensor([], dtype=dtype).element_size()
    weights = shape.parameters * dtype_bytes
    activations = _activations(
        shape,
        batch_size=batch_size,
        sequence_length=sequence_length,
        dtype_bytes=dtype_bytes,
        checkpointing=gradient_checkpointing,
    )
    parts = {"weights": weights, "working copy": weights}  # unlearning changes a copy of the input model
    if job in FULL_MODEL_METHODS:
        parts.update(gradients=weights, optimizer=2 * weights, activations=activations)
    elif job == "ssd":
        parts.update(gradients=weights, importances=2 * shape.parameters * dtype_bytes, activations=activations)
    elif job == "lora":
        adapter = int(shape.parameters * lora_fraction) * 4
        parts.update(adapter=adapter, gradients=adapter, optimizer=2 * adapter, activations=activations)
    elif job == "verify":
        # candidate + parent (+ oracle), a quantized and a relearning copy with its gradients and optimizer.
        parts = {
            "candidate": weights,
            "parent": weights,
            "attack copies": weights,
            "relearning": 3 * weights,
            "activations": activations,
        }
    else:
        raise InvalidInput(f"no memory estimate for job {job!r}")
    return MemoryEstimate(job=job, device=device, dtype=str(dtype).removeprefix("torch."), parts=parts)


def available_memory(device: str | torch.device) -> int | None:
    """Free bytes on the device now (GPU: free device memory; CPU: available RAM), None if unknown."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    # MemAvailable counts reclaimable page cache; free pages alone would refuse jobs on a busy host.
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(estimate: MemoryEstimate, available: int | None) -> str | None:
    """Raise InvalidInput when the job cannot fit; return a warning when it is close, else None."""
    if available is None:
        return None
    if estimate.total > available:
        raise InvalidInput(
            f"not enough memory: {estimate.describe()}, but only {available / GIB:.2f} GiB is free on {estimate.device}. "
            "Use a GPU (--device cuda), bfloat16, gradient checkpointing, a smaller batch, or the lora method",
            details={"estimate": estimate.to_json(), "available_bytes": available},
        )
    if estimate.total > WARN_FRACTION * available:
        return f"close to the memory limit: {estimate.describe()}, {available / GIB:.2f} GiB free"
    return None


DEFAULT_SEQUENCE_LENGTH = 1024  # records are short texts; the model's context caps it further


def memory_preflight(
    shape: ModelShape,
    job: str,
    *,
    device: torch.device,
    dtype: torch.dtype,
    batch_size: int = 8,
    gradient_checkpointing: bool = False,
    sequence_length: int | None = None,
) -> tuple[MemoryEstimate, str | None]:
    """Estimate a job before it starts and check it against the device's free memory:
    (estimate, warning or None); raises InvalidInput when it cannot fit."""
    length = sequence_length or min(shape.max_positions or DEFAULT_SEQUENCE_LENGTH, DEFAULT_SEQUENCE_LENGTH)
    estimate = estimate_memory(
        shape,
        job,
        dtype=dtype,
        device=str(device),
        batch_size=batch_size,
        sequence_length=length,
        gradient_checkpointing=gradient_checkpointing,
    )
    return estimate, check_memory(estimate, available_memory(device))
