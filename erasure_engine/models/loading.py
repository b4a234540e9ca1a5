"""Loading any saved model directory (save_pretrained) by the model type it declares."""

from __future__ import annotations

import json
from pathlib import Path

from erasure_engine.errors import ObjectNotFound


def load_saved_model(directory: str | Path, **lm_options):
    """The MLP classifier or causal LM saved in `directory`, chosen by config.json's model_type;
    a causal LM loads as its own architecture through the refusing loader (`lm_options`: device,
    dtype, gradient_checkpointing, see `load_causal_lm`)."""
    from erasure_engine.models.classifier import MODEL_TYPE as CLASSIFIER_MODEL_TYPE
    from erasure_engine.models.classifier import MLPClassifier
    from erasure_engine.models.lm import load_causal_lm

    directory = Path(directory)
    config_path = directory / "config.json"
    if not config_path.is_file():
        raise ObjectNotFound(f"no config.json in {directory}")
    if json.loads(config_path.read_text()).get("model_type") == CLASSIFIER_MODEL_TYPE:
        return MLPClassifier.from_pretrained(directory)
    return load_causal_lm(directory, **lm_options)
