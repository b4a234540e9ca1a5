"""The one refusing loader behind every from_pretrained of a causal LM or tokenizer.

A checkpoint is read only as safetensors (a pickle file is code: loading an untrusted .bin runs
it), only as the architecture its config declares, never with custom code, never from a hub,
and only when every tensor the architecture needs is in it and nothing else is."""

from __future__ import annotations

from pathlib import Path

from erasure_engine.errors import CheckpointMismatch, InvalidInput, ObjectNotFound, UnsafeCheckpoint

SAFETENSORS_FILES = ("model.safetensors", "model.safetensors.index.json")
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl", ".pickle")
# Files transformers' Trainer writes next to the weights; they are never loaded here.
IGNORED_PICKLES = {"training_args.bin", "optimizer.pt", "scheduler.pt", "rng_state.pth"}


def checkpoint_directory(directory: str | Path) -> Path:
    """The directory, after checking it holds a config and safetensors weights (not pickle)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ObjectNotFound(f"model directory {directory} does not exist")
    if not (directory / "config.json").is_file():
        raise ObjectNotFound(f"no config.json in {directory}")
    if any((directory / name).is_file() for name in SAFETENSORS_FILES):
        return directory
    pickles = sorted(
        path.name for path in directory.iterdir() if path.suffix in PICKLE_SUFFIXES and path.name not in IGNORED_PICKLES
    )
    if pickles:
        raise UnsafeCheckpoint(
            f"{directory} holds only pickle weights ({', '.join(pickles)}); loading pickle can run code, "
            "so only safetensors are accepted: convert with `model.save_pretrained(dir, safe_serialization=True)` "
            "in a trusted environment",
            details={"files": pickles},
        )
    raise ObjectNotFound(f"no model.safetensors (or model.safetensors.index.json) in {directory}")


def _loading_problems(info: dict) -> dict[str, list]:
    problems = {}
    for key in ("missing_keys", "unexpected_keys", "mismatched_keys", "error_msgs"):
        values = sorted(str(value) for value in (info.get(key) or []))
        if values:
            problems[key] = values
    return problems


def checked_from_pretrained(auto_class, directory: str | Path, **kwargs):
    """`auto_class.from_pretrained(directory)` with safetensors only, no remote code, no hub,
    refusing a checkpoint whose tensors do not exactly match the declared architecture."""
    directory = checkpoint_directory(directory)
    try:
        model, info = auto_class.from_pretrained(
            str(directory),
            use_safetensors=True,
            trust_remote_code=False,
            local_files_only=True,
            output_loading_info=True,
            **kwargs,
        )
    except (ValueError, KeyError, OSError, RuntimeError) as error:
        # Unknown model_type, custom code (auto_map), a tensor of the wrong shape, a broken file.
        raise InvalidInput(
            f"cannot load the model in {directory} as the architecture its config declares: {error}"
        ) from None
    problems = _loading_problems(info)
    if problems:
        summary = "; ".join(
            f"{len(values)} {key.replace('_', ' ')} (e.g. {values[0]})" for key, values in problems.items()
        )
        raise CheckpointMismatch(
            f"the weights in {directory} do not match its config ({type(model).__name__}): {summary}. "
            "Refusing to load: the missing tensors would be initialised at random",
            details={key: values[:20] for key, values in problems.items()},
        )
    return model


def load_any_tokenizer(directory: str | Path):
    """The tokenizer saved in `directory` (tokenizer.json or the family's own files), its pad
    token set to end-of-text when it has none, so batches can be padded."""
    from transformers import AutoTokenizer

    directory = Path(directory)
    if not directory.is_dir():
        raise ObjectNotFound(f"tokenizer directory {directory} does not exist")
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(directory), trust_remote_code=False, local_files_only=True)
    except (ValueError, OSError, KeyError) as error:
        raise InvalidInput(f"cannot load a tokenizer from {directory}: {error}") from None
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer
