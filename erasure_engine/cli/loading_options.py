"""Options every command that loads a causal LM shares: device, dtype, gradient checkpointing,
and the memory estimate checked before a job starts."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from erasure_engine.errors import InvalidInput, ObjectNotFound


def loading_arguments(parser: argparse.ArgumentParser, *, default_device: str = "auto") -> None:
    parser.add_argument(
        "--device",
        default=default_device,
        help=f"auto (a GPU when there is one), cpu or cuda[:N] (default {default_device})",
    )
    parser.add_argument(
        "--dtype", default="auto", help="auto (bfloat16 on a GPU, float32 on the CPU), float32, bfloat16 or float16"
    )
    parser.add_argument(
        "--gradient-checkpointing", action="store_true", help="recompute activations: less memory, slower"
    )
    parser.add_argument(
        "--skip-memory-check", action="store_true", help="start even if the memory estimate exceeds what is free"
    )


def lm_loading_options(args, model_dir: Path, *, job: str, batch_size: int | None = None) -> dict:
    """Device, dtype and checkpointing for a causal LM, after a memory estimate (printed on stderr)
    that refuses a job which cannot fit unless --skip-memory-check."""
    from erasure_engine.models.devices import resolve_device, resolve_dtype
    from erasure_engine.models.memory import memory_preflight, saved_model_shape

    if not (model_dir / "config.json").is_file():
        raise ObjectNotFound(f"no config.json in {model_dir}")
    if json.loads((model_dir / "config.json").read_text()).get("model_type") == "mlp_classifier":
        return {}
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)
    shape = saved_model_shape(model_dir)
    try:
        estimate, warning = memory_preflight(
            shape,
            job,
            device=device,
            dtype=dtype,
            batch_size=batch_size or 8,
            gradient_checkpointing=args.gradient_checkpointing,
        )
    except InvalidInput:
        if not args.skip_memory_check:
            raise
        estimate, warning = None, "memory estimate exceeds what is free; starting anyway (--skip-memory-check)"
    if estimate is not None:
        print(f"memory: {estimate.describe()}", file=sys.stderr)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    return {"device": device, "dtype": dtype, "gradient_checkpointing": args.gradient_checkpointing}
