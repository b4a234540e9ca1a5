"""Model-level checks of the verification suite: a tiny LM that memorised its forget set is
caught, a model retrained without it (the oracle) is not, and a verdict reproduces byte for byte."""

from __future__ import annotations

import json
import time

import pytest
import torch

from erasure_engine.datagen import generate_holdout_subjects, generate_subjects, records_from_subjects
from erasure_engine.datagen.general_text import generate_general_text
from erasure_engine.models import lm_config, train_tokenizer
from erasure_engine.sisa.backends import CausalLMBackend, LoadedAssets
from erasure_engine.sisa.config import SisaConfig
from erasure_engine.sisa.trainer import fit
from erasure_engine.verification import compute_lm_statistics, roc_auc, verify, write_report

SECRET = "verification-tests"
EPOCHS = 25
FORGET_SUBJECTS, RETAIN_SUBJECTS = 3, 7


class Fixture:
    pass


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    started = time.perf_counter()
    subjects = generate_subjects(FORGET_SUBJECTS + RETAIN_SUBJECTS, seed=5)
    records = records_from_subjects(subjects, SECRET)
    forget_keys = {record.subject_key for record in records_from_subjects(subjects[:FORGET_SUBJECTS], SECRET)}
    fx = Fixture()
    fx.forget = [r for r in records if r.subject_key in forget_keys]
    fx.retain = [r for r in records if r.subject_key not in forget_keys]
    fx.holdout = records_from_subjects(generate_holdout_subjects(5, seed=5), SECRET)
    general = generate_general_text(80, seed=5)
    fx.tokenizer = train_tokenizer([r.content["text"] for r in general], vocab_size=400)
    config = SisaConfig(kind="lm", batch_size=16, learning_rate=5e-3, seed=0)
    model_config = lm_config("tiny", tokenizer=fx.tokenizer, overrides={"n_embd": 64}).to_dict()

    def train(training_records, epochs):
        backend = CausalLMBackend(config, model_config, LoadedAssets(tokenizer=fx.tokenizer))
        model = backend.initial_model(0)
        fit(model, backend.optimizer(model), backend, backend.encode(training_records), epochs=epochs, order_seed=("verify",))
        return model

    fx.memorizer_records = fx.forget + fx.retain
    fx.memorizer = train(fx.memorizer_records, EPOCHS)
    # As many optimiser steps as the memoriser: the oracle is as converged on retained data.
    fx.oracle = train(fx.retain, round(EPOCHS * len(fx.memorizer_records) / len(fx.retain)))
    fx.training_seconds = time.perf_counter() - started
    return fx


# Tiny models trained on 10 subjects: a never-seen subject's bio perplexity depends on which
# name pieces the training subjects happened to share, so general utility is reported, not gated.
TEST_POLICY = {
    "batch_size": 64,
    "bootstrap_repetitions": 100,
    "report_only": ["utility.general_perplexity_increase"],
}


def test_training_stays_within_budget(trained):
    assert trained.training_seconds < 60


def test_loss_attack_separates_memorised_forget_set_but_not_oracle(trained):
    def loss_auc(model):
        forget = compute_lm_statistics(model, trained.tokenizer, [r.content["text"] for r in trained.forget])
        holdout = compute_lm_statistics(model, trained.tokenizer, [r.content["text"] for r in trained.holdout])
        return roc_auc(-forget.losses, -holdout.losses)

    assert loss_auc(trained.memorizer) > 0.8
    assert abs(loss_auc(trained.oracle) - 0.5) < 0.2


def test_memorising_candidate_fails_and_oracle_passes(trained, tmp_path):
    memorised = verify(
        trained.memorizer, trained.memorizer, trained.forget, trained.retain, trained.holdout,
        oracle=trained.oracle, tokenizer=trained.tokenizer, policy=TEST_POLICY, seed=1,
    )
    assert not memorised.passed
    # Three forget subjects leave the oracle's own AUC noisy, so only the robust gates are named.
    for name in ("membership.loss.auc", "oracle.forget_quality", "knowledge.answer_probability_excess"):
        assert memorised.metric(name).passed is False, (name, memorised.failed_metrics)
    assert memorised.metric("oracle.privleak").value > 50

    progress: list[tuple[float, str]] = []
    clean = verify(
        trained.oracle, trained.memorizer, trained.forget, trained.retain, trained.holdout,
        tokenizer=trained.tokenizer, policy=TEST_POLICY, seed=1, progress=lambda f, m: progress.append((f, m)),
    )
    assert clean.passed, clean.failed_metrics
    assert clean.metric("utility.general_perplexity_increase").passed is None  # report-only
    assert "oracle" in clean.skipped
    fractions = [fraction for fraction, _ in progress]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0

    document = json.loads(memorised.canonical_bytes())
    assert document["schema_version"] == 1 and document["passed"] is False
    assert set(document["inputs"]["models"]) == {"candidate", "parent", "oracle"}
    assert document["inputs"]["datasets"]["forget"]["records"] == len(trained.forget)
    assert {"torch", "transformers"} <= set(document["environment"])
    for metric in document["metrics"]:
        assert {"name", "value", "threshold", "direction", "passed"} <= set(metric)

    paths = write_report(memorised, tmp_path / "report")
    for path in paths.values():
        assert path.stat().st_size > 0
    assert paths["membership_roc"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(paths["verdict"].read_text())["passed"] is False


def test_same_inputs_and_seed_give_identical_verdict_bytes(trained):
    policy = {**TEST_POLICY, "quantization_bits": [4], "relearn_steps": 3}

    def run(seed):
        return verify(
            trained.oracle, trained.memorizer, trained.forget, trained.retain, trained.holdout,
            oracle=trained.oracle, tokenizer=trained.tokenizer, policy=policy, seed=seed,
        ).canonical_bytes()

    first = run(7)
    assert run(7) == first
    assert run(8) != first  # the seed is part of the verdict (and drives splits + bootstrap)
