"""Models: tokenizer, causal LMs of any transformers family (built here from small configs, GPT-2
by default, or loaded by their own architecture through the refusing loader) with LoRA, the MLP
classifier, and the artifact I/O (digests, ObjectStore round trip) every other engine part loads through."""

from erasure_engine.models.artifacts import (
    Artifact,
    download_dir,
    file_digests,
    file_sha256,
    tensor_digests,
    upload_dir,
    verify_weights,
    weights_digest,
)
from erasure_engine.models.classifier import (
    CLASSIFIER_SIZES,
    ClassifierConfig,
    MLPClassifier,
    build_classifier,
)
from erasure_engine.models.devices import resolve_device, resolve_dtype
from erasure_engine.models.lm import (
    ARCHITECTURE_SIZES,
    LM_SIZES,
    build_causal_lm,
    enable_gradient_checkpointing,
    lm_config,
    load_causal_lm,
)
from erasure_engine.models.loading import load_saved_model
from erasure_engine.models.lora import adapter_state, attach_lora, load_lora, lora_config, lora_targets
from erasure_engine.models.memory import memory_preflight, saved_model_shape
from erasure_engine.models.scoring import encode_texts, model_max_length, perplexity, record_losses, record_token_nll
from erasure_engine.models.tokenizer import has_tokenizer, load_tokenizer, train_tokenizer

__all__ = [
    "has_tokenizer",
    "load_saved_model",
    "memory_preflight",
    "resolve_device",
    "resolve_dtype",
    "saved_model_shape",
    "ARCHITECTURE_SIZES",
    "Artifact",
    "CLASSIFIER_SIZES",
    "ClassifierConfig",
    "LM_SIZES",
    "MLPClassifier",
    "adapter_state",
    "attach_lora",
    "build_causal_lm",
    "build_classifier",
    "download_dir",
    "enable_gradient_checkpointing",
    "encode_texts",
    "file_digests",
    "file_sha256",
    "lm_config",
    "load_causal_lm",
    "load_lora",
    "load_tokenizer",
    "lora_config",
    "lora_targets",
    "model_max_length",
    "perplexity",
    "record_losses",
    "record_token_nll",
    "tensor_digests",
    "train_tokenizer",
    "upload_dir",
    "verify_weights",
    "weights_digest",
]
