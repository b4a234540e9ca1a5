"""Unlearning: approximate methods (this package's `approximate`); exact unlearning lives in `erasure_engine.sisa`."""

from erasure_engine.unlearning.approximate import (
    RESULT_FILE,
    MethodSpec,
    ParamSpec,
    UnlearningResult,
    available_methods,
    get_method,
    unlearn,
)
from erasure_engine.unlearning.approximate.params import resolve_params

__all__ = [
    "unlearn",
    "available_methods",
    "get_method",
    "MethodSpec",
    "ParamSpec",
    "UnlearningResult",
    "RESULT_FILE",
    "resolve_params",
]
