"""The registry of approximate unlearning methods: name → declared parameters and the function that runs it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from erasure_engine.errors import InvalidInput
from erasure_engine.unlearning.approximate.context import MethodContext, MethodOutcome
from erasure_engine.unlearning.approximate.params import ParamSpec


@dataclass(frozen=True)
class MethodSpec:
    name: str
    summary: str
    params: tuple[ParamSpec, ...]
    run: Callable[[MethodContext], MethodOutcome]
    needs_retain: Callable[[dict], bool] = lambda params: False

    def to_json(self) -> dict:
        return {"name": self.name, "summary": self.summary, "params": [spec.to_json() for spec in self.params]}


_METHODS: dict[str, MethodSpec] = {}


def register(spec: MethodSpec) -> MethodSpec:
    if spec.name in _METHODS:
        raise ValueError(f"method {spec.name!r} registered twice")
    _METHODS[spec.name] = spec
    return spec


def available_methods() -> dict[str, MethodSpec]:
    """Every registered method by name, in registration order."""
    return dict(_METHODS)


def get_method(name: str) -> MethodSpec:
    try:
        return _METHODS[name]
    except (KeyError, TypeError):
        raise InvalidInput(f"unknown unlearning method {name!r}; known: {', '.join(_METHODS)}") from None
