"""RMU, representation misdirection (Li et al. 2024, "The WMDP Benchmark"): push the forget set's
hidden states at one layer towards a fixed random direction (scaled by a steering coefficient),
keep the retain set's hidden states where the frozen original had them, and update only the
blocks just below that layer.

The layer is chosen from the model's own config (a third of the way up the stack by default, as
the paper's layer 7 of 32), and the blocks are found by name for every family (`…h.N.` in GPT-2,
`…layers.N.` in Llama, Qwen2, Mistral, GPT-NeoX, Phi, OPT): no index is hard-coded."""

from __future__ import annotations

import copy
import re

import torch

from erasure_engine.errors import InvalidInput
from erasure_engine.unlearning.approximate.context import MethodContext, MethodOutcome
from erasure_engine.unlearning.approximate.optimisation import optimise
from erasure_engine.unlearning.approximate.params import ParamSpec, optimisation_params
from erasure_engine.unlearning.approximate.registry import MethodSpec, register

_BLOCK = re.compile(r"\.(?:h|layers)\.(\d+)\.")


def layer_count(model) -> int:
    config = getattr(model, "config", None)
    for name in ("num_hidden_layers", "n_layer"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    raise InvalidInput("RMU steers a language model's hidden states: the model's config names no layer count")


def steered_layer(model, requested: int) -> int:
    """The hidden-state index RMU steers: `requested`, or a third of the way up when it is -1."""
    layers = layer_count(model)
    layer = max(1, layers // 3) if requested == -1 else requested
    if not 1 <= layer <= layers:
        raise InvalidInput(f"parameter 'layer': {requested} is outside this model's 1..{layers} layers")
    return layer


def _hidden(model, batch, layer: int) -> torch.Tensor:
    output = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    return output.hidden_states[layer]


def _masked_mse(hidden: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (((hidden - target) ** 2) * weights).sum() / (weights.sum().clamp(min=1) * hidden.shape[-1])


def run_rmu(context: MethodContext) -> MethodOutcome:
    model, params = context.model, context.params
    if context.task.kind != "causal_lm":
        raise InvalidInput("RMU steers a language model's hidden states; use another method for classifiers")
    layer = steered_layer(model, params["layer"])
    # The blocks feeding the steered layer (hidden state i is the output of block i - 1).
    blocks = {layer - 1 - offset for offset in range(params["blocks"]) if layer - 1 - offset >= 0}
    trainable = []
    for name, parameter in model.named_parameters():
        match = _BLOCK.search(f".{name}")
        chosen = match is not None and int(match.group(1)) in blocks
        parameter.requires_grad_(chosen)
        if chosen:
            trainable.append(parameter)
    if not trainable:
        raise InvalidInput("RMU found no transformer blocks by name in this model")
    frozen = copy.deepcopy(model).eval().requires_grad_(False)
    generator = torch.Generator().manual_seed(context.seed)
    hidden_size = _hidden(frozen, context.task.collate(context.forget[:1], context.device), layer).shape[-1]
    direction = torch.rand(hidden_size, generator=generator)
    control = (params["steering_coefficient"] * direction / direction.norm()).to(context.device)
    alpha = params["retain_weight"]

    def objective(model, forget_batch, forget_indices, retain_batch):
        forget_loss = _masked_mse(_hidden(model, forget_batch, layer), control, forget_batch["attention_mask"])
        if retain_batch is None:
            return forget_loss, forget_loss.item(), None
        with torch.no_grad():
            reference = _hidden(frozen, retain_batch, layer)
        retain_loss = _masked_mse(_hidden(model, retain_batch, layer), reference, retain_batch["attention_mask"])
        return forget_loss + alpha * retain_loss, forget_loss.item(), retain_loss.item()

    steps, log = optimise(context, objective, uses_retain=alpha > 0, parameters=trainable, label="RMU")
    model.requires_grad_(True)
    return MethodOutcome(model, steps, log)


RMU = register(
    MethodSpec(
        name="rmu",
        summary="steer the forget set's hidden states at one layer to a random direction, keep the retain "
        "set's where they were (Li et al. 2024); language models",
        params=optimisation_params(lr=5e-5, steps=30)
        + (
            ParamSpec("layer", int, -1, "hidden state to steer; -1: a third of the way up the stack", minimum=-1),
            ParamSpec("blocks", int, 3, "transformer blocks below that layer that are updated", minimum=1),
            ParamSpec("steering_coefficient", float, 20.0, "length of the random control vector", minimum=0.0),
            ParamSpec("retain_weight", float, 100.0, "weight α of the retain hidden-state term", minimum=0.0),
        ),
        run=run_rmu,
        needs_retain=lambda params: params["retain_weight"] > 0,
    )
)
