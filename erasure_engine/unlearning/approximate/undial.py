"""UNDIAL, unlearning via self-distillation with adjusted logits (Dong et al. 2024): the model is
distilled towards the frozen original's own predictions on the forget set with the logit of the
true token (a classifier's true label) lowered by γ. Unlike gradient ascent the target is a fixed,
bounded distribution, so the loss cannot run away and the rest of the distribution is kept."""

from __future__ import annotations

import copy

import torch
from torch.nn import functional as F

from erasure_engine.unlearning.approximate.context import MethodContext, MethodOutcome
from erasure_engine.unlearning.approximate.objectives import with_retain_term
from erasure_engine.unlearning.approximate.optimisation import optimise
from erasure_engine.unlearning.approximate.params import ParamSpec, optimisation_params
from erasure_engine.unlearning.approximate.registry import MethodSpec, register


def _logits_and_targets(task_kind: str, model, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(logits, true indices, weights) per predicted position: next tokens for a language model
    (padding weighs 0), the label for a classifier."""
    if task_kind == "causal_lm":
        output = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"])
        logits = output.logits[:, :-1].float()
        return logits, batch["input_ids"][:, 1:], batch["attention_mask"][:, 1:].float()
    output = model(batch["features"])
    logits = (output if isinstance(output, torch.Tensor) else output.logits).float()
    return logits, batch["labels"], torch.ones(len(batch["labels"]), device=logits.device)


def run_undial(context: MethodContext) -> MethodOutcome:
    model, params, kind = context.model, context.params, context.task.kind
    model.requires_grad_(True)
    frozen = copy.deepcopy(model).eval().requires_grad_(False)
    gamma, weight = params["gamma"], params["retain_weight"]

    def objective(model, forget_batch, forget_indices, retain_batch):
        logits, targets, weights = _logits_and_targets(kind, model, forget_batch)
        with torch.no_grad():
            reference, _, _ = _logits_and_targets(kind, frozen, forget_batch)
            adjusted = reference.scatter_add(-1, targets.unsqueeze(-1), torch.full_like(reference[..., :1], -gamma))
            target = F.softmax(adjusted, dim=-1)
        cross_entropy = -(target * F.log_softmax(logits, dim=-1)).sum(-1)
        loss = (cross_entropy * weights).sum() / weights.sum().clamp(min=1)
        with torch.no_grad():
            true_nll = -F.log_softmax(logits, dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
            forget_loss = ((true_nll * weights).sum() / weights.sum().clamp(min=1)).item()
        return with_retain_term(context, model, loss, forget_loss, retain_batch, weight)

    steps, log = optimise(context, objective, uses_retain=weight > 0, label="UNDIAL")
    return MethodOutcome(model, steps, log)


UNDIAL = register(
    MethodSpec(
        name="undial",
        summary="self-distillation towards the original's predictions with the true token's logit lowered "
        "by γ (Dong et al. 2024); bounded, so it cannot collapse the model",
        params=optimisation_params(lr=1e-4, steps=30)
        + (
            ParamSpec("gamma", float, 10.0, "how far the true token's logit is lowered in the target", minimum=0.0),
            ParamSpec("retain_weight", float, 0.0, "weight of a retain NLL term; 0: distillation alone", minimum=0.0),
        ),
        run=run_undial,
        needs_retain=lambda params: params["retain_weight"] > 0,
    )
)
