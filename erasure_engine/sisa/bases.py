"""The team's own pretrained model as the shared base of exact (SISA) LoRA training.

A base is any causal LM the refusing loader accepts (its own architecture, safetensors only,
weights matching the config, no remote code) saved with its tokenizer in one directory, as
`save_pretrained` writes them — local, or under an s3:// prefix. It is stored once per model,
under models/<name>/bases/p-<weights digest>, and every version's checkpoints hold adapters only
and reference it by that digest. Storing the same base again writes the same files to the same
place."""

from __future__ import annotations

import tempfile
from pathlib import Path

from erasure_engine.errors import InvalidInput
from erasure_engine.models import (
    Artifact,
    has_tokenizer,
    load_causal_lm,
    load_tokenizer,
    upload_dir,
    weights_digest,
)
from erasure_engine.sisa.manifest import check_model_name
from erasure_engine.storage import ObjectStore, local_directory

BASES_FOLDER = "bases"


def store_pretrained_base(
    store: ObjectStore, model_name: str, location: str | Path, *, endpoint_url: str | None = None
) -> dict[str, Artifact]:
    """Validate a team's pretrained causal LM and its tokenizer and store them once; return the
    `shared_assets` (tokenizer, base) that `plan_training` adapts with per-shard LoRA adapters."""
    check_model_name(model_name)
    with tempfile.TemporaryDirectory(prefix="sisa-base-") as workdir:
        directory = local_directory(str(location), Path(workdir), endpoint_url=endpoint_url)
        if not has_tokenizer(directory):
            raise InvalidInput(
                f"{location} has no tokenizer: save it beside the model (tokenizer.save_pretrained(dir))"
            )
        base = load_causal_lm(directory)
        tokenizer = load_tokenizer(directory)
        vocabulary = base.get_input_embeddings().num_embeddings
        if len(tokenizer) > vocabulary:
            raise InvalidInput(
                f"the tokenizer has {len(tokenizer)} tokens but the model's vocabulary holds {vocabulary}"
            )
        digest = weights_digest(base)
        prefix = f"models/{model_name}/{BASES_FOLDER}/p-{digest[:16]}"
        # Written as save_pretrained writes them, model and tokenizer apart: the tokenizer's files
        # never travel with the weights, and the weights are stored once for every version.
        tokenizer_dir, base_dir = Path(workdir) / "tokenizer", Path(workdir) / "base"
        tokenizer.save_pretrained(str(tokenizer_dir))
        base.save_pretrained(str(base_dir))
        return {
            "tokenizer": upload_dir(store, f"{prefix}/tokenizer", tokenizer_dir),
            "base": upload_dir(store, f"{prefix}/base", base_dir, weights_digest=digest),
        }
