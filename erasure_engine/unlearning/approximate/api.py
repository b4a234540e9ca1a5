"""The one entry point: `unlearn(method, model, forget=..., retain=...)`."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence

import torch
from torch import nn

from erasure_engine.errors import InvalidInput
from erasure_engine.models.lm import checkpointing_enabled
from erasure_engine.records import Record
from erasure_engine.unlearning.approximate.context import MethodContext, Progress, no_progress
from erasure_engine.unlearning.approximate.params import resolve_params
from erasure_engine.unlearning.approximate.registry import get_method
from erasure_engine.unlearning.approximate.result import UnlearningResult
from erasure_engine.unlearning.approximate.tasks import model_device, task_for


def _check_records(name: str, records: Sequence[Record]) -> list[Record]:
    records = list(records)
    for record in records:
        if not isinstance(record, Record):
            raise InvalidInput(f"the {name} set must hold Record objects, got {type(record).__name__}")
    return records


def _without_dropout(model: nn.Module) -> None:
    """Eval mode; or, when gradient checkpointing is on (transformers applies it in train mode
    only), train mode with every dropout set to 0 on this private copy."""
    if not checkpointing_enabled(model):
        model.eval()
        return
    model.train()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.p = 0.0
        for name in ("attention_dropout", "dropout", "attn_dropout"):
            if isinstance(getattr(module, name, None), float):
                setattr(module, name, 0.0)


def unlearn(
    method: str,
    model: nn.Module,
    *,
    forget: Sequence[Record],
    retain: Sequence[Record],
    tokenizer=None,
    params: dict | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> UnlearningResult:
    """Make `model` forget the `forget` records while keeping what it learnt from `retain`.

    Text records go with a causal LM and its `tokenizer`; feature/label records with a classifier.
    The input model is never changed: the method works on a deep copy, seeded by `seed`, and the
    same inputs give the same candidate weights. `progress(fraction, message)` is called regularly.
    """
    spec = get_method(method)
    resolved = resolve_params(method, spec.params, params)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InvalidInput(f"seed must be an integer, got {seed!r}")
    forget, retain = _check_records("forget", forget), _check_records("retain", retain)
    if not forget:
        raise InvalidInput("the forget set is empty: there is nothing to unlearn")
    if spec.needs_retain(resolved) and not retain:
        raise InvalidInput(f"method {method!r} with these parameters needs a non-empty retain set")
    task = task_for(model, tokenizer, forget + retain)
    prepared_forget, prepared_retain = task.prepare(forget, "forget"), task.prepare(retain, "retain")

    started = time.perf_counter()
    candidate = copy.deepcopy(model)
    # Dropout off, so runs depend only on the seed and NPO's ratio starts at exactly 1.
    _without_dropout(candidate)
    # A private RNG stream: seeding must not disturb the caller's random state.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        context = MethodContext(
            model=candidate,
            task=task,
            forget=prepared_forget,
            retain=prepared_retain,
            params=resolved,
            seed=seed,
            device=model_device(candidate),
            progress=progress or no_progress,
        )
        outcome = spec.run(context)
    return UnlearningResult(
        model=outcome.model,
        method=method,
        params=resolved,
        seed=seed,
        steps=outcome.steps,
        wall_seconds=time.perf_counter() - started,
        log=outcome.log,
        is_adapter=outcome.is_adapter,
        model_kind=task.kind,
    )
