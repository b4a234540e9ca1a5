"""Approximate unlearning methods behind one interface (see `unlearn`)."""

from erasure_engine.unlearning.approximate import gradient, lora, rmu, ssd, undial  # noqa: F401  (register the methods)
from erasure_engine.unlearning.approximate.api import unlearn
from erasure_engine.unlearning.approximate.params import ParamSpec
from erasure_engine.unlearning.approximate.registry import MethodSpec, available_methods, get_method
from erasure_engine.unlearning.approximate.result import RESULT_FILE, UnlearningResult

__all__ = ["unlearn", "available_methods", "get_method", "MethodSpec", "ParamSpec", "UnlearningResult", "RESULT_FILE"]
