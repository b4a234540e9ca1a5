"""Declared hyper-parameters: each method lists its parameters with type, default and bounds,
so a job record can store exactly what ran and an API can reject bad input before any work."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from erasure_engine.errors import InvalidInput

_TYPE_NAMES = {int: "int", float: "float", bool: "bool", str: "str"}


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: type
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None

    def to_json(self) -> dict:
        described = {"name": self.name, "type": _TYPE_NAMES[self.type], "default": self.default, "help": self.help}
        if self.minimum is not None:
            described["minimum"] = self.minimum
        if self.maximum is not None:
            described["maximum"] = self.maximum
        if self.choices is not None:
            described["choices"] = list(self.choices)
        return described

    def check(self, value: Any, method: str) -> Any:
        """The value, typed, or InvalidInput naming this parameter."""
        where = f"parameter {self.name!r} of method {method!r}"
        # bool is a subclass of int: reject it for numbers and accept ints for floats.
        if self.type is bool:
            ok = isinstance(value, bool)
        elif self.type is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.type is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, str)
        if not ok:
            raise InvalidInput(f"{where} must be {_TYPE_NAMES[self.type]}, got {value!r}")
        if self.type is float and value != value:
            raise InvalidInput(f"{where} must be a number, got NaN")
        if self.minimum is not None and value < self.minimum:
            raise InvalidInput(f"{where} must be >= {self.minimum}, got {value!r}")
        if self.maximum is not None and value > self.maximum:
            raise InvalidInput(f"{where} must be <= {self.maximum}, got {value!r}")
        if self.choices is not None and value not in self.choices:
            raise InvalidInput(f"{where} must be one of {', '.join(self.choices)}; got {value!r}")
        return value

    def parse(self, text: str, method: str) -> Any:
        """A command-line string turned into this parameter's type, then checked."""
        try:
            if self.type is bool:
                lowered = text.strip().lower()
                if lowered not in {"true", "false", "1", "0", "yes", "no"}:
                    raise ValueError(text)
                value: Any = lowered in {"true", "1", "yes"}
            elif self.type is int:
                value = int(text)
            elif self.type is float:
                value = float(text)
            else:
                value = text
        except ValueError:
            raise InvalidInput(
                f"parameter {self.name!r} of method {method!r} must be {_TYPE_NAMES[self.type]}, got {text!r}"
            ) from None
        return self.check(value, method)


def resolve_params(method: str, specs: tuple[ParamSpec, ...], given: dict | None) -> dict:
    """Defaults filled in, every given value checked; unknown names are an error."""
    given = dict(given or {})
    known = {spec.name: spec for spec in specs}
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise InvalidInput(
            f"unknown parameter(s) {', '.join(map(repr, unknown))} for method {method!r}; "
            f"known: {', '.join(sorted(known))}"
        )
    return {name: spec.check(given[name], method) if name in given else spec.default for name, spec in known.items()}


# Parameters shared by every optimisation-based method, declared once.
def optimisation_params(
    *, lr: float, steps: int, batch_size: int = 8, max_grad_norm: float = 1.0
) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("lr", float, lr, "learning rate (AdamW)", minimum=0.0),
        ParamSpec("steps", int, steps, "optimisation steps", minimum=1),
        ParamSpec("batch_size", int, batch_size, "records per batch (forget and retain)", minimum=1),
        ParamSpec("max_grad_norm", float, max_grad_norm, "gradient clipping norm; 0 disables", minimum=0.0),
    )
