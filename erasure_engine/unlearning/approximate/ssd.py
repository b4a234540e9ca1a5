"""Selective Synaptic Dampening (Foster et al. 2023), retrain-free.

Diagonal Fisher importances (mean squared gradient of the loss) on the forget set and on the
reference data (the full training data, or the retain set alone). Parameters far more important
to the forget set — forget_imp > α · reference_imp — are multiplied by min(λ · reference_imp / forget_imp, 1).
"""

from __future__ import annotations

import torch
from torch import nn

from erasure_engine.unlearning.approximate.context import MethodContext, MethodOutcome
from erasure_engine.unlearning.approximate.params import ParamSpec
from erasure_engine.unlearning.approximate.registry import MethodSpec, register
from erasure_engine.unlearning.approximate.tasks import mean_nll


def importances(context: MethodContext, items: list, *, start: float, span: float, label: str) -> dict:
    """Per-parameter mean squared gradient of the batch loss over batches of `items`."""
    model, task, size = context.model, context.task, context.params["batch_size"]
    parameters = dict(model.named_parameters())
    totals = {name: torch.zeros_like(parameter) for name, parameter in parameters.items()}
    batches = range(0, len(items), size)
    for number, offset in enumerate(batches, start=1):
        model.zero_grad(set_to_none=True)
        loss = mean_nll(task, model, task.collate(items[offset : offset + size], context.device))
        loss.backward()
        for name, parameter in parameters.items():
            if parameter.grad is not None:
                totals[name] += parameter.grad.detach() ** 2
        context.progress(
            start + span * number / len(batches), f"SSD: {label} importances, batch {number}/{len(batches)}"
        )
    model.zero_grad(set_to_none=True)
    return {name: total / len(batches) for name, total in totals.items()}


@torch.no_grad()
def dampen(model: nn.Module, forget_imp: dict, reference_imp: dict, *, alpha: float, dampening: float) -> int:
    """Apply SSD in place; returns how many weights were dampened."""
    changed = 0
    for name, parameter in model.named_parameters():
        forget, reference = forget_imp[name], reference_imp[name]
        selected = forget > alpha * reference
        # forget > 0 wherever selected, so the division is safe there; elsewhere the factor is unused.
        factor = (dampening * reference / forget.clamp(min=torch.finfo(forget.dtype).tiny)).clamp(max=1.0)
        parameter.copy_(torch.where(selected, parameter * factor, parameter))
        changed += int(selected.sum().item())
    return changed


@torch.no_grad()
def _mean_loss(context: MethodContext, items: list) -> float:
    size, task = context.params["batch_size"], context.task
    summed = counted = 0.0
    for offset in range(0, len(items), size):
        losses, counts = task.nll(context.model, task.collate(items[offset : offset + size], context.device))
        summed, counted = summed + losses.sum().item(), counted + counts.sum().item()
    return summed / max(counted, 1.0)


def run_ssd(context: MethodContext) -> MethodOutcome:
    params = context.params
    context.model.requires_grad_(True)
    reference_items = context.retain
    if params["reference"] == "full":
        # Shuffled like a training loader, so forget records are spread over the batches as in training
        # rather than filling the last ones (which would let them dominate a few squared batch gradients).
        full = context.retain + context.forget
        order = torch.randperm(len(full), generator=torch.Generator().manual_seed(context.seed))
        reference_items = [full[i] for i in order]
    forget_before, retain_before = _mean_loss(context, context.forget), _mean_loss(context, context.retain)
    forget_imp = importances(context, context.forget, start=0.0, span=0.3, label="forget")
    reference_imp = importances(context, reference_items, start=0.3, span=0.6, label="reference")
    changed = dampen(context.model, forget_imp, reference_imp, alpha=params["alpha"], dampening=params["lambda"])
    log = [
        {"step": 0, "forget_loss": round(forget_before, 6), "retain_loss": round(retain_before, 6), "dampened": 0},
        {
            "step": 1,
            "forget_loss": round(_mean_loss(context, context.forget), 6),
            "retain_loss": round(_mean_loss(context, context.retain), 6),
            "dampened": changed,
        },
    ]
    context.progress(1.0, f"SSD: dampened {changed} weights")
    return MethodOutcome(context.model, 1, log)


SSD = register(
    MethodSpec(
        name="ssd",
        summary="Selective Synaptic Dampening (Foster et al. 2023): dampen weights specialised to the forget set, no training",
        params=(
            ParamSpec(
                "alpha",
                float,
                10.0,
                "selection weighting α: dampen where forget importance > α × reference importance",
                minimum=0.0,
            ),
            ParamSpec(
                "lambda",
                float,
                1.0,
                "dampening constant λ: factor min(λ · reference / forget importance, 1)",
                minimum=0.0,
            ),
            ParamSpec("batch_size", int, 8, "records per importance batch", minimum=1),
            ParamSpec(
                "reference",
                str,
                "full",
                "reference importances from the full training data or the retain set only",
                choices=("full", "retain"),
            ),
        ),
        run=run_ssd,
        needs_retain=lambda params: True,
    )
)
