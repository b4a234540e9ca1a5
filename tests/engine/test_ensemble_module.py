"""ShardEnsemble.as_module(): a multi-shard SISA model as one nn.Module that verify() takes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from erasure_engine.datagen import generate_holdout_subjects, generate_tabular, records_from_subjects
from erasure_engine.errors import InvalidInput
from erasure_engine.models import weights_digest
from erasure_engine.sisa import load_ensemble, train_all
from erasure_engine.sisa.ensemble_module import EnsembleCausalLM, EnsembleClassifier
from erasure_engine.storage import LocalObjectStore
from erasure_engine.verification import verify
from erasure_engine.verification.classifier_statistics import tabular_tensors
from erasure_engine.verification.lm_statistics import compute_lm_statistics, encode_text
from erasure_engine.verification.quantization import quantized_copy
from erasure_engine.verification.relearning import finetuned_copy
from tests.engine.sisa_fixtures import GENERAL_TEXTS, SECRET, tiny_config, tiny_dataset

FAST_POLICY = {"batch_size": 64, "bootstrap_repetitions": 20, "relearn_steps": 2, "quantization_bits": [4]}


def _trained(tmp_path_factory, kind: str):
    dataset = tiny_dataset(kind)
    store = LocalObjectStore(tmp_path_factory.mktemp(kind))
    general = None if kind == "classifier" else GENERAL_TEXTS
    version = train_all(store, kind, dataset, tiny_config(kind), general_texts=general)
    return dataset, load_ensemble(store, kind, version.version_id)


@pytest.fixture(scope="module")
def lm(tmp_path_factory):
    return _trained(tmp_path_factory, "lm")


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    return _trained(tmp_path_factory, "classifier")


def _sets(records, holdout):
    subjects = sorted({r.subject_key for r in records})
    forget = [r for r in records if r.subject_key in subjects[:2]]
    retain = [r for r in records if r.subject_key not in subjects[:2]]
    return forget, retain, holdout


def _shard_parameters_changed(before: torch.nn.Module, after: torch.nn.Module) -> list[bool]:
    return [weights_digest(a) != weights_digest(b) for a, b in zip(before.shards, after.shards)]


def test_lm_module_scores_the_ensemble_mixture(lm):
    dataset, ensemble = lm
    module = ensemble.as_module()
    assert isinstance(module, EnsembleCausalLM) and len(module.shards) == 2
    tokenizer = ensemble.tokenizer
    max_length = ensemble.version.training.max_length
    # Short enough that neither path truncates (training cuts at max_length, verify at the context length).
    texts = [r.content["text"][:24] for r in dataset.records()[:8]]
    assert all(len(encode_text(tokenizer, text)) <= max_length for text in texts)
    # verify()'s statistics (unpadded, its own batching) against the ensemble's record_losses (padded).
    statistics = compute_lm_statistics(module, tokenizer, texts)
    np.testing.assert_allclose(statistics.losses, ensemble.record_losses(texts), rtol=1e-5, atol=1e-5)

    # Independently: the mixture of the shards' probabilities weighted by their records, in float64, for one text.
    weights = [
        len(dataset.records_in(s, 0)) + len(dataset.records_in(s, 1)) + len(dataset.records_in(s, 2)) for s in range(2)
    ]
    assert ensemble.weights == weights and module.weights == weights
    ids = torch.tensor([encode_text(tokenizer, texts[0])])
    mask = torch.ones_like(ids)
    with torch.no_grad():
        probs = [
            torch.softmax(ensemble.shard_model(s)(input_ids=ids, attention_mask=mask).logits.double(), -1)
            for s in range(2)
        ]
        mixture = (weights[0] * probs[0] + weights[1] * probs[1]) / sum(weights)
        expected = -mixture[0, :-1].gather(-1, ids[0, 1:].unsqueeze(-1)).log().mean().item()
        output = module(input_ids=ids, attention_mask=mask, labels=ids)
    assert statistics.losses[0] == pytest.approx(expected, rel=1e-5)
    assert output.loss.item() == pytest.approx(expected, rel=1e-5)
    assert torch.allclose(output.logits.exp().sum(-1), torch.ones(ids.shape), atol=1e-4)


def test_verify_runs_on_a_two_shard_lm_ensemble(lm):
    dataset, ensemble = lm
    module = ensemble.as_module()
    holdout = records_from_subjects(generate_holdout_subjects(2, seed=5), SECRET)
    forget, retain, holdout = _sets(dataset.records(), holdout)
    before = weights_digest(module)

    # Relearning fine-tunes every shard of a copy; quantization rounds every shard but keeps the tied heads.
    attacked = finetuned_copy(
        module, forget, tokenizer=ensemble.tokenizer, steps=1, learning_rate=1e-2, batch_size=4, seed=0
    )
    assert _shard_parameters_changed(module, attacked) == [True, True]
    quantized = quantized_copy(module, 4)
    for shard, original in zip(quantized.shards, module.shards):
        assert torch.equal(shard.transformer.wte.weight, original.transformer.wte.weight)
        assert not torch.equal(shard.transformer.h[0].mlp.c_fc.weight, original.transformer.h[0].mlp.c_fc.weight)

    verdict = verify(module, module, forget, retain, holdout, tokenizer=ensemble.tokenizer, policy=FAST_POLICY, seed=0)
    names = {metric.name for metric in verdict.metrics}
    assert verdict.kind == "causal_lm"
    assert {
        "extraction.rouge_l_excess",
        "relearn_forget.membership_auc",
        "quantized_4bit.membership_auc",
        "utility.retain_perplexity_increase",
    } <= names
    # The candidate equals the parent: no extraction or perplexity difference can appear.
    increase = next(m for m in verdict.metrics if m.name == "utility.retain_perplexity_increase")
    assert increase.value == pytest.approx(0.0, abs=1e-9)
    assert weights_digest(module) == before  # attacks worked on copies


def test_classifier_module_is_the_mean_logits_and_verifies(classifier):
    dataset, ensemble = classifier
    module = ensemble.as_module()
    assert isinstance(module, EnsembleClassifier)
    features, _ = tabular_tensors(dataset.records())
    with torch.no_grad():
        assert torch.allclose(module(features), ensemble.classifier_logits(features))
        mean_probs = ensemble.as_module(aggregate="mean_probs")(features)
        assert torch.allclose(mean_probs.exp(), ensemble.classifier_logits(features, aggregate="mean_probs"), atol=1e-6)
    with pytest.raises(InvalidInput, match="differentiable"):
        ensemble.as_module(aggregate="vote")
    holdout = generate_tabular(generate_holdout_subjects(3, seed=5), SECRET, seed=5, records_per_subject=3)
    forget, retain, holdout = _sets(dataset.records(), holdout)
    verdict = verify(module, module, forget, retain, holdout, policy=FAST_POLICY, seed=0)
    assert verdict.kind == "classifier" and "relearn_forget.membership_auc" in {m.name for m in verdict.metrics}


def test_weighted_aggregation_follows_shard_sizes():
    from erasure_engine.sisa.ensemble_module import aggregate_classifier_scores, mixture_log_probs

    logits = [torch.randn(2, 3, 7, generator=torch.Generator().manual_seed(s)) for s in range(3)]
    # A shard weighed 0 does not speak at all; weights scale like record counts (3:1 == 300:100).
    alone = mixture_log_probs(logits[:2], [0, 5])
    assert torch.allclose(alone, torch.log_softmax(logits[1], dim=-1), atol=1e-6)
    assert torch.allclose(mixture_log_probs(logits, [3, 1, 0]), mixture_log_probs(logits, [300, 100, 0]), atol=1e-6)
    expected = torch.log(0.75 * torch.softmax(logits[0], -1) + 0.25 * torch.softmax(logits[1], -1))
    assert torch.allclose(mixture_log_probs(logits, [3, 1, 0]), expected, atol=1e-5)
    scores = torch.stack([torch.tensor([[4.0, 0.0]]), torch.tensor([[0.0, 1.0]])])
    assert aggregate_classifier_scores(scores, "vote", [1, 3]).tolist() == [[0.25, 0.75]]
    assert aggregate_classifier_scores(scores, "mean_logits", [1, 3]).tolist() == [[1.0, 0.75]]
    with pytest.raises(InvalidInput, match="non-negative shard weights"):
        mixture_log_probs(logits[:2], [0, 0])
    with pytest.raises(InvalidInput, match="non-negative shard weights"):
        aggregate_classifier_scores(scores, "vote", [1, -1])
