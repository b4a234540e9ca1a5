"""Full-model optimisation methods: gradient ascent, gradient difference, NPO and SimNPO (± retain term)."""

from __future__ import annotations

from erasure_engine.unlearning.approximate.context import MethodContext, MethodOutcome
from erasure_engine.unlearning.approximate.objectives import (
    gradient_ascent_objective,
    gradient_difference_objective,
    npo_objective,
    simnpo_objective,
)
from erasure_engine.unlearning.approximate.optimisation import optimise
from erasure_engine.unlearning.approximate.params import ParamSpec, optimisation_params
from erasure_engine.unlearning.approximate.registry import MethodSpec, register

RETAIN_WEIGHT = ParamSpec("retain_weight", float, 1.0, "weight of the retain-set NLL (descent) term", minimum=0.0)


def _train_all(context: MethodContext) -> None:
    # Every weight may move, even ones the caller had frozen for inference.
    context.model.requires_grad_(True)


def run_gradient_ascent(context: MethodContext) -> MethodOutcome:
    _train_all(context)
    steps, log = optimise(context, gradient_ascent_objective(context), uses_retain=False, label="gradient ascent")
    return MethodOutcome(context.model, steps, log)


def run_gradient_difference(context: MethodContext) -> MethodOutcome:
    _train_all(context)
    steps, log = optimise(
        context, gradient_difference_objective(context), uses_retain=True, label="gradient difference"
    )
    return MethodOutcome(context.model, steps, log)


def run_npo(context: MethodContext) -> MethodOutcome:
    _train_all(context)
    uses_retain = context.params["retain_weight"] > 0
    steps, log = optimise(context, npo_objective(context), uses_retain=uses_retain, label="NPO")
    return MethodOutcome(context.model, steps, log)


def run_simnpo(context: MethodContext) -> MethodOutcome:
    _train_all(context)
    uses_retain = context.params["retain_weight"] > 0
    steps, log = optimise(context, simnpo_objective(context), uses_retain=uses_retain, label="SimNPO")
    return MethodOutcome(context.model, steps, log)


GRADIENT_ASCENT = register(
    MethodSpec(
        name="gradient_ascent",
        summary="maximise the loss on the forget set",
        params=optimisation_params(lr=1e-4, steps=20),
        run=run_gradient_ascent,
    )
)

GRADIENT_DIFFERENCE = register(
    MethodSpec(
        name="gradient_difference",
        summary="ascent on the forget set plus weighted descent on the retain set",
        params=optimisation_params(lr=1e-4, steps=30) + (RETAIN_WEIGHT,),
        run=run_gradient_difference,
        needs_retain=lambda params: True,
    )
)

NPO = register(
    MethodSpec(
        name="npo",
        summary="negative preference optimisation against the frozen original (Zhang et al. 2024); "
        "retain_weight > 0 adds a retain NLL term (NPO+RT)",
        params=optimisation_params(lr=1e-4, steps=30)
        + (
            ParamSpec("beta", float, 0.1, "inverse temperature β of the preference loss", minimum=1e-6),
            ParamSpec("retain_weight", float, 1.0, "weight of the retain NLL term; 0 gives plain NPO", minimum=0.0),
        ),
        run=run_npo,
        needs_retain=lambda params: params["retain_weight"] > 0,
    )
)

SIMNPO = register(
    MethodSpec(
        name="simnpo",
        summary="NPO without a reference model: length-normalised likelihood with a margin (Fan et al. 2024); "
        "retain_weight > 0 adds a retain NLL term",
        params=optimisation_params(lr=1e-4, steps=30)
        + (
            ParamSpec("beta", float, 2.5, "inverse temperature β of the preference loss", minimum=1e-6),
            ParamSpec("gamma", float, 0.0, "margin γ subtracted inside the loss", minimum=0.0),
            ParamSpec("retain_weight", float, 1.0, "weight of the retain NLL term; 0 gives plain SimNPO", minimum=0.0),
        ),
        run=run_simnpo,
        needs_retain=lambda params: params["retain_weight"] > 0,
    )
)
