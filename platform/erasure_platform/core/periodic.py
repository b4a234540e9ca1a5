"""Periodic work that the dispatcher runs between outbox passes (no separate beat process).

Apps register functions with the setting that holds their interval; several dispatchers may
run, so every periodic function must be safe to run concurrently (SKIP LOCKED, idempotent).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PeriodicWork:
    name: str
    interval_setting: str
    func: Callable[[], object]


_registry: dict[str, PeriodicWork] = {}


def periodic(name: str, *, interval_setting: str):
    def register(func):
        _registry[name] = PeriodicWork(name, interval_setting, func)
        return func

    return register


def periodic_work() -> list[PeriodicWork]:
    return list(_registry.values())
