"""Inference over a SISA model version: every shard's final checkpoint, loaded through
`from_pretrained` on a local copy, aggregated (averaged logits/probabilities or a vote)."""

from __future__ import annotations

import copy
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from peft import PeftModel
from torch import nn

from erasure_engine.errors import InvalidInput
from erasure_engine.models import MLPClassifier, download_dir, load_causal_lm, record_token_nll, verify_weights
from erasure_engine.sisa.backends import LoadedAssets, backend_for
from erasure_engine.sisa.ensemble_module import EnsembleCausalLM, EnsembleClassifier, aggregate_classifier_scores
from erasure_engine.sisa.manifest import ModelRegistry, ModelVersion
from erasure_engine.sisa.trainer import load_assets
from erasure_engine.storage import ObjectStore

CLASSIFIER_AGGREGATIONS = ("mean_logits", "mean_probs", "vote")


class ShardEnsemble:
    """The active shard models of one version, weighted by the records each was trained on;
    shards with no active model or no records are left out. For lm-lora, one PeftModel holds
    all the adapters."""

    def __init__(
        self,
        version: ModelVersion,
        models: list[nn.Module],
        assets: LoadedAssets,
        *,
        shards: Sequence[int] | None = None,
    ):
        self.version = version
        self.shards = list(range(len(models)) if shards is None else shards)  # shard id of each model
        if len(self.shards) != len(models) or not models:
            raise InvalidInput(f"{version.model_name}/{version.version_id}: no shard model to aggregate")
        self.models = models  # one per active shard; for lm-lora the same PeftModel each time
        self.assets = assets
        all_weights = version.shard_weights
        self.weights = [all_weights[shard] for shard in self.shards]

    @property
    def tokenizer(self):
        return self.assets.tokenizer

    def shard_model(self, shard: int) -> nn.Module:
        """The shard's model, ready to run (for lm-lora: its adapter switched on)."""
        if shard not in self.shards:
            raise InvalidInput(f"shard {shard} is not active in {self.version.version_id} (active: {self.shards})")
        model = self.models[self.shards.index(shard)]
        if isinstance(model, PeftModel):
            model.set_adapter(f"shard-{shard}")
        return model

    # ------------------------------------------------------------ classifier

    @torch.no_grad()
    def classifier_logits(self, features: torch.Tensor, *, aggregate: str = "mean_logits") -> torch.Tensor:
        """Aggregated scores per class: mean logits, mean probabilities, or vote counts / S."""
        self._require("classifier")
        if aggregate not in CLASSIFIER_AGGREGATIONS:
            raise InvalidInput(f"unknown aggregation {aggregate!r}; choose one of {list(CLASSIFIER_AGGREGATIONS)}")
        per_shard = torch.stack([self.shard_model(s)(features) for s in self.shards])
        return aggregate_classifier_scores(per_shard, aggregate, self.weights)

    def predict(self, features: torch.Tensor, *, aggregate: str = "mean_logits") -> torch.Tensor:
        return self.classifier_logits(features, aggregate=aggregate).argmax(dim=-1)

    # ------------------------------------------------------------ language model

    @torch.no_grad()
    def next_token_log_probs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """log of the shards' mean next-token probability (a proper mixture distribution)."""
        self._require("lm", "lm-lora")
        return self.as_module()(input_ids=input_ids, attention_mask=attention_mask).logits

    def as_module(self, *, aggregate: str = "mean_logits") -> nn.Module:
        """The ensemble as one nn.Module sharing these shard models (verification takes it).
        Language models: EnsembleCausalLM (the mixture scored above); classifiers:
        EnsembleClassifier with `aggregate` (mean_logits or mean_probs: vote has no gradient)."""
        if self.version.kind == "classifier":
            return EnsembleClassifier(self.models, aggregate=aggregate, weights=self.weights).eval()
        adapters = [f"shard-{s}" for s in self.shards] if isinstance(self.models[0], PeftModel) else None
        return EnsembleCausalLM(self.models, adapters=adapters, weights=self.weights).eval()

    def record_losses(self, texts: Sequence[str], *, batch_size: int = 32) -> list[float]:
        """Mean per-token NLL of each text under the ensemble (membership-attack input)."""
        self._require("lm", "lm-lora")
        pairs = record_token_nll(
            self.next_token_log_probs,
            self.tokenizer,
            texts,
            max_length=self.version.training.max_length,
            batch_size=batch_size,
        )
        return [total / max(count, 1) for total, count in pairs]

    def perplexity(self, texts: Sequence[str], *, batch_size: int = 32) -> float:
        self._require("lm", "lm-lora")
        pairs = record_token_nll(
            self.next_token_log_probs,
            self.tokenizer,
            texts,
            max_length=self.version.training.max_length,
            batch_size=batch_size,
        )
        return math.exp(sum(nll for nll, _ in pairs) / max(1, sum(count for _, count in pairs)))

    def _require(self, *kinds: str) -> None:
        if self.version.kind not in kinds:
            raise InvalidInput(f"model {self.version.model_name} is a {self.version.kind}, not {' or '.join(kinds)}")


def load_shard_model(
    store: ObjectStore, version: ModelVersion, shard: int, *, assets: LoadedAssets | None = None
) -> nn.Module:
    """One shard's final model via from_pretrained on a verified local copy."""
    assets = assets or load_assets(store, version.assets)
    return _load_models(store, version, [shard], assets)[0]


def load_ensemble(store: ObjectStore, model_name: str, version_id: str) -> ShardEnsemble:
    version = ModelRegistry(store).load(model_name, version_id)
    assets = load_assets(store, version.assets)
    active = version.active_shards
    return ShardEnsemble(version, _load_models(store, version, active, assets), assets, shards=active)


def _load_models(
    store: ObjectStore, version: ModelVersion, shards: Sequence[int], assets: LoadedAssets
) -> list[nn.Module]:
    backend = backend_for(version.training, version.model_config, assets)
    models: list[nn.Module] = []
    peft_model: PeftModel | None = None
    with tempfile.TemporaryDirectory(prefix="sisa-load-") as workdir:
        for shard in shards:
            checkpoint = version.final_checkpoint(shard)
            directory = download_dir(store, checkpoint, Path(workdir) / f"shard-{shard}")
            if version.kind == "classifier":
                model = MLPClassifier.from_pretrained(directory)
            elif version.kind == "lm":
                model = load_causal_lm(directory)
            elif peft_model is None:
                # peft injects adapters into the model it wraps: keep the shared base pristine.
                base = copy.deepcopy(assets.base)
                peft_model = PeftModel.from_pretrained(base, str(directory), adapter_name=f"shard-{shard}")
                model = peft_model
            else:
                peft_model.load_adapter(str(directory), adapter_name=f"shard-{shard}")
                model = peft_model
            if isinstance(model, PeftModel):
                model.set_adapter(f"shard-{shard}")
            verify_weights(
                backend.trainable_state(model), checkpoint.weights_digest, what=f"shard {shard} of {version.version_id}"
            )
            models.append(model.eval())
    return models
