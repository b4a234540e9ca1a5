"""Seeds and the deterministic-execution switch every training run goes through."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import torch

from erasure_engine.records import canonical_json


def derive_seed(seed: int, *parts: object) -> int:
    """A 63-bit seed for one purpose, e.g. (seed, "order", shard, slice, epoch)."""
    digest = hashlib.sha256(canonical_json([seed, *[str(part) for part in parts]])).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def generator(seed: int, *parts: object) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, *parts))


@contextmanager
def deterministic_torch() -> Iterator[None]:
    """Deterministic kernels and a private global RNG for the block; the caller's state returns after."""
    previous = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        with torch.random.fork_rng(devices=[]):
            yield
    finally:
        torch.use_deterministic_algorithms(previous)
