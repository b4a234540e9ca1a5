"""What every method receives and what it hands back, so each method module holds only its idea."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from erasure_engine.unlearning.approximate.tasks import Task

Progress = Callable[[float, str], None]


def no_progress(fraction: float, message: str) -> None:
    return None


@dataclass
class MethodContext:
    model: nn.Module  # the working copy; methods may change it in place
    task: Task
    forget: list  # prepared items (task.prepare output)
    retain: list
    params: dict
    seed: int
    device: torch.device
    progress: Progress = no_progress


@dataclass
class MethodOutcome:
    model: nn.Module
    steps: int
    log: list[dict] = field(default_factory=list)
    is_adapter: bool = False  # True when `model` is a peft model whose adapter is the whole change
