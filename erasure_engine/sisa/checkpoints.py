"""Slice checkpoints in the object store: weights (from_pretrained-loadable), optimizer
state and RNG state, each file with its sha256, plus the weights digest."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import torch
from torch import nn

from erasure_engine.models import Artifact, download_dir, upload_dir, verify_weights, weights_digest
from erasure_engine.sisa.backends import ShardBackend
from erasure_engine.storage import ObjectStore

OPTIMIZER_FILE = "optimizer.pt"
RNG_FILE = "rng.pt"


def _torch_bytes(value) -> bytes:
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def save_checkpoint(
    store: ObjectStore, prefix: str, *, backend: ShardBackend, model: nn.Module, optimizer: torch.optim.Optimizer
) -> Artifact:
    with tempfile.TemporaryDirectory(prefix="sisa-ckpt-") as workdir:
        directory = Path(workdir)
        backend.save_weights(model, directory)
        (directory / OPTIMIZER_FILE).write_bytes(_torch_bytes(optimizer.state_dict()))
        (directory / RNG_FILE).write_bytes(_torch_bytes(torch.get_rng_state()))
        return upload_dir(store, prefix, directory, weights_digest=weights_digest(backend.trainable_state(model)))


def restore_checkpoint(
    store: ObjectStore, checkpoint: Artifact, *, backend: ShardBackend, shard: int
) -> tuple[nn.Module, torch.optim.Optimizer]:
    """The shard's model and optimizer exactly as they were when `checkpoint` was saved;
    also restores the global RNG state (call inside `deterministic_torch`)."""
    with tempfile.TemporaryDirectory(prefix="sisa-ckpt-") as workdir:
        directory = download_dir(store, checkpoint, workdir)
        model = backend.initial_model(shard)
        backend.load_weights(model, directory)
        verify_weights(
            backend.trainable_state(model), checkpoint.weights_digest, what=f"checkpoint {checkpoint.prefix}"
        )
        optimizer = backend.optimizer(model)
        optimizer.load_state_dict(torch.load(directory / OPTIMIZER_FILE, weights_only=True))
        torch.set_rng_state(torch.load(directory / RNG_FILE, weights_only=True))
    return model, optimizer
