"""The training objectives: gradient ascent, gradient difference and NPO (± retain term).
Each returns (loss to minimise, forget loss, retain loss or None) for one step."""

from __future__ import annotations

from torch.nn import functional as F

from erasure_engine.unlearning.approximate.context import MethodContext
from erasure_engine.unlearning.approximate.optimisation import Objective, sequence_nll
from erasure_engine.unlearning.approximate.tasks import mean_nll


def gradient_ascent_objective(context: MethodContext) -> Objective:
    def objective(model, forget_batch, forget_indices, retain_batch):
        forget_loss = mean_nll(context.task, model, forget_batch)
        return -forget_loss, forget_loss.item(), None

    return objective


def gradient_difference_objective(context: MethodContext) -> Objective:
    weight = context.params["retain_weight"]

    def objective(model, forget_batch, forget_indices, retain_batch):
        forget_loss = mean_nll(context.task, model, forget_batch)
        retain_loss = mean_nll(context.task, model, retain_batch)
        return -forget_loss + weight * retain_loss, forget_loss.item(), retain_loss.item()

    return objective


def npo_objective(context: MethodContext) -> Objective:
    """NPO (Zhang et al. 2024): (2/β)·E[log(1 + (π_θ/π_ref)^β)] = (2/β)·E[softplus(β·(nll_ref − nll_θ))],
    plus `retain_weight` × retain NLL (NPO+RT) when that weight is positive.
    The reference is the model before any update, scored once up front."""
    beta, weight = context.params["beta"], context.params["retain_weight"]
    reference_nll = sequence_nll(context, context.forget)

    def objective(model, forget_batch, forget_indices, retain_batch):
        summed, counts = context.task.nll(model, forget_batch)
        reference = reference_nll[forget_indices].to(summed.device)
        npo_loss = (2.0 / beta) * F.softplus(beta * (reference - summed)).mean()
        forget_loss = (summed.sum() / counts.sum().clamp(min=1)).item()
        if retain_batch is None:
            return npo_loss, forget_loss, None
        retain_loss = mean_nll(context.task, model, retain_batch)
        return npo_loss + weight * retain_loss, forget_loss, retain_loss.item()

    return objective
