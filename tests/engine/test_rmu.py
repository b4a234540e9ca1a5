"""RMU's layer comes from the model's config and its blocks are found by name in every family;
it refuses what it cannot steer."""

from __future__ import annotations

import pytest

from erasure_engine.datagen import generate_general_text, generate_subjects, generate_tabular, records_from_subjects
from erasure_engine.errors import InvalidInput
from erasure_engine.models import ClassifierConfig, build_causal_lm, build_classifier, lm_config, train_tokenizer
from erasure_engine.unlearning import unlearn
from erasure_engine.unlearning.approximate.rmu import steered_layer

SECRET = "rmu-secret"
TOKENIZER = train_tokenizer([r.content["text"] for r in generate_general_text(40, seed=1)], vocab_size=320)
RECORDS = records_from_subjects(generate_subjects(3, seed=1), SECRET)


@pytest.mark.parametrize("architecture", ["gpt2", "llama", "qwen2", "mistral", "gpt_neox", "phi", "opt"])
def test_rmu_runs_on_every_family_and_changes_only_the_blocks_below_its_layer(architecture):
    config = lm_config("tiny", tokenizer=TOKENIZER, architecture=architecture)
    model = build_causal_lm(config, seed=0)
    layer = steered_layer(model, -1)
    assert layer == max(1, config.num_hidden_layers // 3)
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    result = unlearn(
        "rmu",
        model,
        forget=RECORDS[:5],
        retain=RECORDS[5:],
        tokenizer=TOKENIZER,
        params={"steps": 2, "lr": 1e-3, "blocks": 1},
        seed=0,
    )
    changed = {name for name, parameter in result.model.named_parameters() if not parameter.equal(before[name])}
    assert changed and all(f".{layer - 1}." in f".{name}" for name in changed), changed


def test_a_layer_outside_the_model_and_a_classifier_are_refused():
    model = build_causal_lm(lm_config("tiny", tokenizer=TOKENIZER), seed=0)
    with pytest.raises(InvalidInput, match="outside this model's"):
        steered_layer(model, 99)
    rows = generate_tabular(generate_subjects(4, seed=0), SECRET, seed=0, records_per_subject=2)
    classifier = build_classifier(ClassifierConfig(input_dim=8, num_classes=3, hidden_dims=[16]), seed=0)
    with pytest.raises(InvalidInput, match="classifiers"):
        unlearn("rmu", classifier, forget=rows[:2], retain=rows[2:])
