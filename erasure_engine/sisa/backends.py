"""Per model kind: how to build a shard's initial model, encode records, compute the loss,
and save/restore exactly the weights that training changes."""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import set_peft_model_state_dict
from safetensors.torch import load_file
from torch import nn
from transformers import GPT2LMHeadModel, PreTrainedTokenizerFast

from erasure_engine.errors import InvalidInput
from erasure_engine.models import (
    ClassifierConfig,
    adapter_state,
    attach_lora,
    build_causal_lm,
    build_classifier,
    encode_texts,
    lora_config,
)
from erasure_engine.records import Record
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.seeds import derive_seed

Batch = dict[str, torch.Tensor]


@dataclass
class LoadedAssets:
    """Shared, frozen inputs of every shard: the tokenizer (LMs) and the base model (LoRA)."""

    tokenizer: PreTrainedTokenizerFast | None = None
    base: GPT2LMHeadModel | None = None
    device: str = "cpu"  # where shards train; bit-identity holds per device, so record it


class ShardBackend(abc.ABC):
    def __init__(self, config: SisaConfig, model_config: dict, assets: LoadedAssets):
        self.config = config
        self.model_config = model_config
        self.assets = assets

    @property
    def device(self) -> str:
        return self.assets.device

    def initial_model(self, shard: int) -> nn.Module:
        """The shard's state before slice 0, a pure function of (config, seed, shard)."""
        return self.build(shard).to(self.device)

    @abc.abstractmethod
    def build(self, shard: int) -> nn.Module: ...

    @abc.abstractmethod
    def encode(self, records: Sequence[Record]) -> Batch:
        """Tensors with one row per record, in order."""

    def loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return self.batch_loss(model, {name: tensor.to(self.device) for name, tensor in batch.items()})

    @abc.abstractmethod
    def batch_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor: ...

    def trainable_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        """The weights a (re)train may change; their digest is the shard's identity."""
        return model.state_dict()

    def save_weights(self, model: nn.Module, directory: Path) -> None:
        model.save_pretrained(str(directory))

    @abc.abstractmethod
    def load_weights(self, model: nn.Module, directory: Path) -> None:
        """Restore what `save_weights` wrote, bit for bit."""

    def optimizer(self, model: nn.Module) -> torch.optim.Optimizer:
        parameters = [parameter for parameter in model.parameters() if parameter.requires_grad]
        return torch.optim.AdamW(parameters, lr=self.config.learning_rate, weight_decay=self.config.weight_decay)


class ClassifierBackend(ShardBackend):
    def build(self, shard: int) -> nn.Module:
        config = ClassifierConfig.from_dict(self.model_config)
        return build_classifier(config, seed=derive_seed(self.config.seed, "init", shard))

    def encode(self, records: Sequence[Record]) -> Batch:
        try:
            features = torch.tensor([record.content["features"] for record in records], dtype=torch.float32)
            labels = torch.tensor([int(record.content["label"]) for record in records], dtype=torch.long)
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(f"classifier records need content features + label ({error})") from None
        return {"features": features.reshape(len(records), -1), "labels": labels}

    def batch_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return nn.functional.cross_entropy(model(batch["features"]), batch["labels"])

    def load_weights(self, model: nn.Module, directory: Path) -> None:
        model.load_state_dict(load_file(str(directory / "model.safetensors")))


class _TextBackend(ShardBackend):
    def encode(self, records: Sequence[Record]) -> Batch:
        try:
            texts = [record.content["text"] for record in records]
        except (KeyError, TypeError):
            raise InvalidInput("language-model records need content text") from None
        encoded = encode_texts(self.assets.tokenizer, texts, max_length=self.config.max_length)
        labels = encoded["input_ids"].masked_fill(encoded["attention_mask"] == 0, -100)
        return {"input_ids": encoded["input_ids"], "attention_mask": encoded["attention_mask"], "labels": labels}

    def batch_loss(self, model: nn.Module, batch: Batch) -> torch.Tensor:
        return model(**batch).loss


class CausalLMBackend(_TextBackend):
    def build(self, shard: int) -> nn.Module:
        return build_causal_lm(dict(self.model_config), seed=derive_seed(self.config.seed, "init", shard))

    def load_weights(self, model: nn.Module, directory: Path) -> None:
        missing, unexpected = model.load_state_dict(load_file(str(directory / "model.safetensors")), strict=False)
        # save_pretrained drops the output head because it is tied to the input embedding.
        if unexpected or set(missing) - {"lm_head.weight"}:
            raise InvalidInput(
                f"checkpoint in {directory} does not fit the model: missing {missing}, unexpected {unexpected}"
            )


class LoraBackend(_TextBackend):
    def build(self, shard: int) -> nn.Module:
        config = lora_config(rank=self.config.lora_rank, alpha=self.config.lora_alpha)
        return attach_lora(self.assets.base, config, seed=derive_seed(self.config.seed, "init", shard))

    def trainable_state(self, model: nn.Module) -> dict[str, torch.Tensor]:
        return adapter_state(model)

    def save_weights(self, model: nn.Module, directory: Path) -> None:
        # Embeddings are frozen base weights; never let peft guess whether to store them.
        model.save_pretrained(str(directory), save_embedding_layers=False)

    def load_weights(self, model: nn.Module, directory: Path) -> None:
        result = set_peft_model_state_dict(model, load_file(str(directory / "adapter_model.safetensors")))
        if result.unexpected_keys:
            raise InvalidInput(f"adapter in {directory} does not fit the model: unexpected {result.unexpected_keys}")


BACKENDS: dict[str, type[ShardBackend]] = {
    "classifier": ClassifierBackend,
    "lm": CausalLMBackend,
    "lm-lora": LoraBackend,
}


def backend_for(config: SisaConfig, model_config: dict, assets: LoadedAssets) -> ShardBackend:
    return BACKENDS[config.kind](config, model_config, assets)
