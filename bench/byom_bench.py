"""Bring your own model at size: a random-init model of a chosen family (never downloaded) is saved
as safetensors, loaded through the refusing loader on the chosen device/dtype, and run through
every approximate method and `verify`; for each: wall time, the memory estimate made before the
job, and the peak memory measured (GPU: torch.cuda.max_memory_allocated; CPU: not measured).

    python bench/byom_bench.py --preset tiny                                   # CPU smoke run
    python bench/byom_bench.py --preset 1b --architecture llama --device cuda   # ~1.1B parameters, bf16
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from erasure_engine.datagen import (
    generate_general_text,
    generate_holdout_subjects,
    generate_subjects,
    records_from_subjects,
)
from erasure_engine.models import build_causal_lm, lm_config, load_causal_lm, train_tokenizer
from erasure_engine.models.devices import resolve_device, resolve_dtype
from erasure_engine.models.memory import GIB, memory_preflight, saved_model_shape
from erasure_engine.unlearning import unlearn
from erasure_engine.verification import verify

# Sizes in the family's own keys (llama-like families); "1b" is TinyLlama-1.1B's shape.
PRESETS = {
    "tiny": {
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 128,
        "vocab_size": 1024,
    },
    "1b": {
        "hidden_size": 2048,
        "intermediate_size": 5632,
        "num_hidden_layers": 22,
        "num_attention_heads": 32,
        "num_key_value_heads": 4,
        "max_position_embeddings": 2048,
        "vocab_size": 32000,
    },
}
METHODS = {
    "gradient_ascent": {"steps": 5, "lr": 1e-5},
    "gradient_difference": {"steps": 5, "lr": 1e-5},
    "npo": {"steps": 5, "lr": 1e-5},
    "ssd": {},
    "lora": {"steps": 5, "lr": 1e-4},
}
POLICY = {"bootstrap_repetitions": 20, "relearn_steps": 2, "quantization_bits": [4], "extraction_max_new_tokens": 8}


def peak_reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def peak(device: torch.device) -> str:
    return f"{torch.cuda.max_memory_allocated(device) / GIB:.2f}" if device.type == "cuda" else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="tiny")
    parser.add_argument("--architecture", default="llama", help="a llama-like model_type: llama, qwen2, mistral")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dtype", default="auto")
    parser.add_argument("--gradient-checkpointing", action="store_true")
    parser.add_argument("--subjects", type=int, default=6)
    parser.add_argument("--skip-verify", action="store_true")
    args = parser.parse_args()
    device = resolve_device(args.device)
    dtype = resolve_dtype(args.dtype, device)

    records = records_from_subjects(generate_subjects(args.subjects, seed=0), "bench")
    forget_key = records[0].subject_key
    forget = [r for r in records if r.subject_key == forget_key]
    retain = [r for r in records if r.subject_key != forget_key]
    holdout = records_from_subjects(generate_holdout_subjects(2, seed=0), "bench")
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(200, seed=0)], vocab_size=512)
    config = lm_config("tiny", tokenizer=tokenizer, architecture=args.architecture, overrides=PRESETS[args.preset])

    with tempfile.TemporaryDirectory() as workdir:
        directory = Path(workdir) / "model"
        started = time.perf_counter()
        build_causal_lm(config, seed=0).save_pretrained(directory)
        tokenizer.save_pretrained(directory)
        build_seconds = time.perf_counter() - started
        shape = saved_model_shape(directory)
        print(
            f"{args.architecture} {args.preset}: {shape.parameters / 1e6:.1f}M parameters, {device}, {dtype}, "
            f"gradient checkpointing {'on' if args.gradient_checkpointing else 'off'}; built + saved in {build_seconds:.1f}s"
        )
        peak_reset(device)
        started = time.perf_counter()
        parent = load_causal_lm(
            directory, device=device, dtype=dtype, gradient_checkpointing=args.gradient_checkpointing
        )
        print(f"load: {time.perf_counter() - started:.1f}s, peak {peak(device)} GiB")
        print("| job | estimate (GiB) | peak measured (GiB) | wall (s) |\n|---|---|---|---|")
        candidate = None
        for method, params in METHODS.items():
            estimate, _ = memory_preflight(
                shape,
                method,
                device=device,
                dtype=dtype,
                batch_size=8,
                gradient_checkpointing=args.gradient_checkpointing,
                sequence_length=64,
            )
            peak_reset(device)
            started = time.perf_counter()
            result = unlearn(method, parent, forget=forget, retain=retain, tokenizer=tokenizer, params=params, seed=0)
            seconds = time.perf_counter() - started
            print(f"| {method} | {estimate.total / GIB:.2f} | {peak(device)} | {seconds:.1f} |")
            if method == "npo":
                candidate = result.model
            del result
        if not args.skip_verify:
            estimate, _ = memory_preflight(
                shape, "verify", device=device, dtype=dtype, batch_size=8, sequence_length=64
            )
            peak_reset(device)
            started = time.perf_counter()
            verdict = verify(candidate, parent, forget, retain, holdout, tokenizer=tokenizer, policy=POLICY, seed=0)
            print(
                f"| verify | {estimate.total / GIB:.2f} | {peak(device)} | {time.perf_counter() - started:.1f} |"
                f"  ({len(verdict.metrics)} metrics)"
            )


if __name__ == "__main__":
    main()
