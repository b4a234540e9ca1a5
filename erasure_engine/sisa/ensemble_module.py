"""A SISA ensemble as one `nn.Module`, so code written for a single model (verification's
statistics, greedy generation, relearning fine-tunes, quantization) runs on the ensemble.

Language models: the log of the shards' weighted mean next-token probability (a proper mixture).
Classifiers: the shards' weighted mean logits, or the log of their weighted mean probabilities.
Weights are the records each shard's model was trained on (see ModelVersion.shard_weights), so
a starved shard never speaks as loud as a full one; None weighs every shard alike."""

from __future__ import annotations

import math

import torch
from torch import nn
from transformers.modeling_outputs import CausalLMOutput

from erasure_engine.errors import InvalidInput

DIFFERENTIABLE_AGGREGATIONS = ("mean_logits", "mean_probs")


def normalised_weights(weights, count: int) -> torch.Tensor:
    """Shard weights as a float32 vector summing to 1 (uniform when None)."""
    if weights is None:
        return torch.full((count,), 1.0 / count)
    vector = torch.as_tensor(weights, dtype=torch.float32)
    if vector.shape != (count,) or bool((vector < 0).any()) or float(vector.sum()) <= 0:
        raise InvalidInput(
            f"need {count} non-negative shard weights with a positive sum, got {list(map(float, vector.reshape(-1)))}"
        )
    return vector / vector.sum()


def aggregate_classifier_scores(per_shard: torch.Tensor, aggregate: str, weights=None) -> torch.Tensor:
    """[S, B, C] shard logits → [B, C]: weighted mean logits, mean probabilities, or vote shares."""
    w = normalised_weights(weights, per_shard.shape[0]).to(per_shard.device).view(-1, 1, 1)
    if aggregate == "mean_logits":
        return (per_shard * w).sum(dim=0)
    if aggregate == "mean_probs":
        return (per_shard.softmax(dim=-1) * w).sum(dim=0)
    if aggregate == "vote":
        votes = nn.functional.one_hot(per_shard.argmax(dim=-1), per_shard.shape[-1]).float()
        return (votes * w).sum(dim=0)  # ties go to the lowest class index in argmax
    raise InvalidInput(f"unknown aggregation {aggregate!r}; choose one of ['mean_logits', 'mean_probs', 'vote']")


def mixture_log_probs(per_shard_logits: list[torch.Tensor], weights=None) -> torch.Tensor:
    """log(Σ_s w_s softmax(logits_s)), computed stably in float32 (w uniform when None)."""
    stacked = torch.stack([torch.log_softmax(logits.float(), dim=-1) for logits in per_shard_logits])
    if weights is None:
        return torch.logsumexp(stacked, dim=0) - math.log(len(per_shard_logits))
    log_w = normalised_weights(weights, len(per_shard_logits)).log().to(stacked.device)
    return torch.logsumexp(stacked + log_w.reshape(-1, *([1] * (stacked.dim() - 1))), dim=0)


class EnsembleClassifier(nn.Module):
    """forward(features) → aggregated logits of the shard classifiers."""

    def __init__(self, shard_models: list[nn.Module], *, aggregate: str = "mean_logits", weights=None):
        super().__init__()
        if aggregate not in DIFFERENTIABLE_AGGREGATIONS:
            raise InvalidInput(
                f"an ensemble module needs a differentiable aggregation ({list(DIFFERENTIABLE_AGGREGATIONS)}), got {aggregate!r}"
            )
        self.shards = nn.ModuleList(shard_models)
        self.aggregate = aggregate
        self.weights = None if weights is None else [float(w) for w in weights]

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scores = aggregate_classifier_scores(
            torch.stack([shard(features) for shard in self.shards]), self.aggregate, self.weights
        )
        # Mean probabilities become log-probabilities: logits that softmax maps back to them.
        return scores.clamp_min(1e-30).log() if self.aggregate == "mean_probs" else scores


class EnsembleCausalLM(nn.Module):
    """forward(input_ids=, attention_mask=, position_ids=, labels=) → CausalLMOutput whose logits
    are the mixture's next-token log-probabilities (and loss the mean token NLL when labels are
    given, -100 ignored, as transformers computes it). No KV cache: callers re-read the sequence.

    For lm-lora the S entries are one PeftModel with S adapters (`adapters[s]` names shard s's)."""

    def __init__(self, shard_models: list[nn.Module], *, adapters: list[str] | None = None, weights=None):
        super().__init__()
        if adapters is not None and len(adapters) != len(shard_models):
            raise InvalidInput("one adapter name per shard model is needed")
        self.shards = nn.ModuleList(shard_models)
        self.adapters = adapters
        self.weights = None if weights is None else [float(w) for w in weights]
        self.config = getattr(shard_models[0], "config", None)  # context length for callers

    def get_input_embeddings(self) -> nn.Module:
        return self.shards[0].get_input_embeddings()

    def _shard(self, index: int) -> nn.Module:
        model = self.shards[index]
        if self.adapters is not None:
            # peft's set_adapter also flips requires_grad; keep the caller's choice of what trains.
            flags = [parameter.requires_grad for parameter in model.parameters()]
            model.set_adapter(self.adapters[index])
            for parameter, flag in zip(model.parameters(), flags):
                parameter.requires_grad_(flag)
        return model

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **_unused,
    ) -> CausalLMOutput:
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, "use_cache": False}
        if position_ids is not None:
            inputs["position_ids"] = position_ids
        log_probs = mixture_log_probs([self._shard(s)(**inputs).logits for s in range(len(self.shards))], self.weights)
        loss = None
        if labels is not None:
            # log_probs are normalised, so cross-entropy on them is exactly the mixture's NLL.
            loss = nn.functional.cross_entropy(
                log_probs[:, :-1].reshape(-1, log_probs.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100
            )
        return CausalLMOutput(loss=loss, logits=log_probs)
