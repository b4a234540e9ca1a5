"""The one optimisation loop behind gradient ascent, gradient difference, NPO and LoRA forgetting:
seeded batches from the forget and retain sets, an objective (see `objectives`), AdamW, clipping, a short log."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

from erasure_engine.unlearning.approximate.context import MethodContext
from erasure_engine.unlearning.approximate.tasks import Batch

# objective(model, forget_batch, forget_indices, retain_batch) -> (loss, forget_loss, retain_loss or None)
Objective = Callable[[nn.Module, Batch, torch.Tensor, Batch | None], tuple[torch.Tensor, float, float | None]]

MAX_LOG_ENTRIES = 50
MAX_PROGRESS_CALLS = 100


class CyclingSampler:
    """Endless seeded batches of indices: a fresh permutation per pass, so each item is seen once per pass."""

    def __init__(self, size: int, batch_size: int, generator: torch.Generator) -> None:
        self.size = size
        self.batch_size = min(batch_size, size)
        self.generator = generator
        self._order = torch.empty(0, dtype=torch.long)

    def next(self) -> torch.Tensor:
        if len(self._order) < self.batch_size:
            self._order = torch.cat([self._order, torch.randperm(self.size, generator=self.generator)])
        batch, self._order = self._order[: self.batch_size], self._order[self.batch_size :]
        return batch


def every(total: int, at_most: int) -> int:
    return max(1, -(-total // at_most))


def optimise(
    context: MethodContext,
    objective: Objective,
    *,
    uses_retain: bool,
    parameters: Iterable[nn.Parameter] | None = None,
    label: str,
) -> tuple[int, list[dict]]:
    """Run `params["steps"]` steps of `objective`; returns (steps, log)."""
    params, model, task = context.params, context.model, context.task
    trainable = list(parameters) if parameters is not None else [p for p in model.parameters() if p.requires_grad]
    # Adam without weight decay: decay alone would move weights unrelated to forgetting.
    optimizer = torch.optim.AdamW(trainable, lr=params["lr"], weight_decay=0.0)
    generator = torch.Generator().manual_seed(context.seed)
    forget_sampler = CyclingSampler(len(context.forget), params["batch_size"], generator)
    retain_sampler = CyclingSampler(len(context.retain), params["batch_size"], generator) if uses_retain else None
    steps = params["steps"]
    log_every, progress_every = every(steps, MAX_LOG_ENTRIES), every(steps, MAX_PROGRESS_CALLS)
    log: list[dict] = []
    context.progress(0.0, f"{label}: starting {steps} steps")
    for step in range(1, steps + 1):
        forget_indices = forget_sampler.next()
        forget_batch = task.collate([context.forget[i] for i in forget_indices], context.device)
        retain_batch = None
        if retain_sampler is not None:
            retain_batch = task.collate([context.retain[i] for i in retain_sampler.next()], context.device)
        loss, forget_loss, retain_loss = objective(model, forget_batch, forget_indices, retain_batch)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if params["max_grad_norm"] > 0:
            torch.nn.utils.clip_grad_norm_(trainable, params["max_grad_norm"])
        optimizer.step()
        if step % log_every == 0 or step == steps:
            log.append(_entry(step, loss.item(), forget_loss, retain_loss))
        if step % progress_every == 0 or step == steps:
            context.progress(step / steps, f"{label}: step {step}/{steps}, forget loss {forget_loss:.4f}")
    optimizer.zero_grad(set_to_none=True)
    return steps, log


def _entry(step: int, loss: float, forget_loss: float, retain_loss: float | None) -> dict:
    entry = {"step": step, "loss": round(loss, 6), "forget_loss": round(forget_loss, 6)}
    entry["retain_loss"] = None if retain_loss is None else round(retain_loss, 6)
    return entry


@torch.no_grad()
def sequence_nll(context: MethodContext, items: list) -> torch.Tensor:
    """Summed NLL of every item under the current model, in item order (NPO's frozen reference)."""
    totals = []
    size = context.params["batch_size"]
    for start in range(0, len(items), size):
        summed, _ = context.task.nll(context.model, context.task.collate(items[start : start + size], context.device))
        totals.append(summed.detach())
    return torch.cat(totals)
