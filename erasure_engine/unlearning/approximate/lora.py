"""LoRA-based forgetting: the base model stays frozen and a LoRA adapter, trained with gradient
difference or NPO, carries the whole change. The result is a peft model: save it as an adapter
directory, or merge it for evaluation."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model
from torch import nn
from transformers.pytorch_utils import Conv1D

from erasure_engine.errors import InvalidInput
from erasure_engine.unlearning.approximate.context import MethodContext, MethodOutcome
from erasure_engine.unlearning.approximate.objectives import (
    gradient_difference_objective,
    npo_objective,

)
from erasure_engine.unlearning.approximate.optimisation import optimise
from erasure_engine.unlearning.approximate.params import ParamSpec, optimisation_params
from erasure_engine.unlearning.approximate.registry import MethodSpec, register

ADAPTABLE = (nn.Linear, Conv1D)


def target_modules(model: nn.Module, requested: str) -> list[str]:
    """Full names of the layers to adapt: every linear layer except a (tied) output head for "auto",
    else the comma-separated names given (each matching a layer name or its last part)."""
    adaptable = {name: module for name, module in model.named_modules() if isinstance(module, ADAPTABLE)}
    if requested == "auto":
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        chosen = [name for name, module in adaptable.items() if module is not head]
    else:
        wanted = [part.strip() for part in requested.split(",") if part.strip()]
        chosen = [name for name in adaptable if any(name == w or name.endswith("." + w) for w in wanted)]
        missing = [w for w in wanted if not any(name == w or name.endswith("." + w) for name in adaptable)]
        if missing:
            raise InvalidInput(f"parameter 'target_modules': no linear layer named {', '.join(missing)} in the model")
    if not chosen:
        raise InvalidInput("parameter 'target_modules': the model has no linear layer to adapt")
    return chosen


def run_lora(context: MethodContext) -> MethodOutcome:
    params = context.params
    # The reference for NPO is the model before the adapter exists (identical to base + zero-initialised adapter).
    objective_for = npo_objective if params["objective"] == "npo" else gradient_difference_objective
    targets = target_modules(context.model, params["target_modules"])
    modules = dict(context.model.named_modules())
    config = LoraConfig(
        r=params["rank"],
        lora_alpha=params["lora_alpha"],
        lora_dropout=0.0,  # methods run in eval mode, dropout would never act
        target_modules=targets,
        # GPT-2 style Conv1D layers store weights transposed.
        fan_in_fan_out=all(isinstance(modules[name], Conv1D) for name in targets),
    )
    objective = objective_for(context)
    peft_model = get_peft_model(context.model, config)
    peft_model.eval()
    context.model = peft_model
    uses_retain = params["objective"] == "gradient_difference" or params["retain_weight"] > 0
    steps, log = optimise(context, objective, uses_retain=uses_retain, label=f"LoRA ({params['objective']})")
    return MethodOutcome(peft_model, steps, log, is_adapter=True)


LORA = register(
    MethodSpec(
        name="lora",
        summary="train a LoRA adapter on a frozen base with gradient difference or NPO; the adapter is the change",
        params=optimisation_params(lr=1e-3, steps=30)
        + (
            ParamSpec("objective", str, "gradient_difference", "training objective for the adapter", choices=("gradient_difference", "npo")),
            ParamSpec("rank", int, 8, "LoRA rank r", minimum=1),
            ParamSpec("lora_alpha", float, 16.0, "LoRA scaling α (update scaled by α / r)", minimum=0.0),
            ParamSpec("target_modules", str, "auto", "'auto' (all linear layers but the output head) or comma-separated layer names"),
            ParamSpec("retain_weight", float, 1.0, "weight of the retain NLL term (for npo, 0 drops it)", minimum=0.0),
            ParamSpec("beta", float, 0.1, "NPO inverse temperature β (objective npo only)", minimum=1e-6),
        ),
        run=run_lora,
        needs_retain=lambda params: params["objective"] == "gradient_difference" or params["retain_weight"] > 0,
    )
)
