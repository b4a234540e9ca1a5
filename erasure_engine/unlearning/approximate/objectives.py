"""The training objectives: gradient ascent, gradient difference, NPO and SimNPO (± retain term).
Each returns (loss to minimise, forget loss, retain loss or None) for one step."""

from __future__ import annotations

from torch.nn import functional as F

from erasure_engine.unlearning.approximate.context import MethodContext
from erasure_engine.unlearning.approximate.optimisation import Objective, sequence_nll
from erasure_engine.unlearning.approximate.tasks import mean_nll


def with_retain_term(context: MethodContext, model, loss, forget_loss: float, retain_batch, weight: float):
    """An objective's step result: `loss`, plus `weight` × the retain batch's NLL when there is one."""
    if retain_batch is None:
        return loss, forget_loss, None
    retain_loss = mean_nll(context.task, model, retain_batch)
    return loss + weight * retain_loss, forget_loss, retain_loss.item()


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
        return with_retain_term(context, model, npo_loss, forget_loss, retain_batch, weight)

    return objective


def simnpo_objective(context: MethodContext) -> Objective:
    """SimNPO (Fan et al. 2024, "Simplicity Prevails"): NPO without the reference model, the
    log-likelihood normalised by length and shifted by a margin γ:
    (2/β)·E[softplus(γ − β·nll_θ/|y|)] (−(2/β)·log σ(−(β/|y|)·log π_θ(y) − γ)),
    plus `retain_weight` × retain NLL when that weight is positive."""
    beta, gamma, weight = context.params["beta"], context.params["gamma"], context.params["retain_weight"]

    def objective(model, forget_batch, forget_indices, retain_batch):
        summed, counts = context.task.nll(model, forget_batch)
        per_token = summed / counts.clamp(min=1)
        simnpo_loss = (2.0 / beta) * F.softplus(gamma - beta * per_token).mean()
        forget_loss = (summed.sum() / counts.sum().clamp(min=1)).item()
        return with_retain_term(context, model, simnpo_loss, forget_loss, retain_batch, weight)

    return objective
