"""LoRA-based forgetting: the base model stays frozen and a LoRA adapter, trained with gradient
difference or NPO, carries the whole change. The result is a peft model: save it as an adapter
directory, or merge it for evaluation."""

from __future__ import annotations

from peft import LoraConfig, get_peft_model
from torch import nn

from erasure_engine.models.lm import checkpointing_enabled
from erasure_engine.models.lora import lora_targets, stores_transposed
from erasure_engine.unlearning.approximate.context import MethodContext, MethodOutcome
from erasure_engine.unlearning.approximate.objectives import (
    gradient_difference_objective,
    npo_objective,
)
from erasure_engine.unlearning.approximate.optimisation import optimise
from erasure_engine.unlearning.approximate.params import ParamSpec, optimisation_params
from erasure_engine.unlearning.approximate.registry import MethodSpec, register


def target_modules(model: nn.Module, requested: str) -> list[str]:
    """Full names of the layers to adapt (see `models.lora.lora_targets`)."""
    return lora_targets(model, requested)


def run_lora(context: MethodContext) -> MethodOutcome:
    params = context.params
    # The reference for NPO is the model before the adapter exists (identical to base + zero-initialised adapter).
    objective_for = npo_objective if params["objective"] == "npo" else gradient_difference_objective
    targets = target_modules(context.model, params["target_modules"])
    config = LoraConfig(
        r=params["rank"],
        lora_alpha=params["lora_alpha"],
        lora_dropout=0.0,  # methods run in eval mode, dropout would never act
        target_modules=targets,
        fan_in_fan_out=stores_transposed(context.model, targets),
    )
    objective = objective_for(context)
    checkpointing = checkpointing_enabled(context.model)
    peft_model = get_peft_model(context.model, config)
    if not checkpointing:  # else keep train mode (dropout already 0): checkpointing acts in train mode only
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
            ParamSpec(
                "objective",
                str,
                "gradient_difference",
                "training objective for the adapter",
                choices=("gradient_difference", "npo"),
            ),
            ParamSpec("rank", int, 8, "LoRA rank r", minimum=1),
            ParamSpec("lora_alpha", float, 16.0, "LoRA scaling α (update scaled by α / r)", minimum=0.0),
            ParamSpec(
                "target_modules",
                str,
                "auto",
                "'auto' (peft's default layers for the architecture, else every linear layer but the output head), "
                "'all-linear' or comma-separated layer names",
            ),
            ParamSpec("retain_weight", float, 1.0, "weight of the retain NLL term (for npo, 0 drops it)", minimum=0.0),
            ParamSpec("beta", float, 0.1, "NPO inverse temperature β (objective npo only)", minimum=1e-6),
        ),
        run=run_lora,
        needs_retain=lambda params: params["objective"] == "gradient_difference" or params["retain_weight"] > 0,
    )
)
