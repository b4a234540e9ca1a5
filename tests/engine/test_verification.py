"""Verification building blocks (policy, verdict, probes, quantization), input errors, the
classifier path and the `verify` / `mia` command line."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest
import torch

from erasure_engine.cli import main
from erasure_engine.datagen import generate_holdout_subjects, generate_subjects, generate_tabular, records_from_subjects
from erasure_engine.datagen.general_text import generate_general_text
from erasure_engine.errors import InvalidInput
from erasure_engine.models import ClassifierConfig, build_causal_lm, build_classifier, lm_config, train_tokenizer
from erasure_engine.records import Record
from erasure_engine.verification import MetricResult, VerificationPolicy, verify
from erasure_engine.verification.extraction import split_for_extraction
from erasure_engine.verification.knowledge import is_qa_record, qa_probe
from erasure_engine.verification.lm_statistics import encode_text
from erasure_engine.verification.quantization import fake_quantize, quantized_copy
from erasure_engine.verification.relearning import finetuned_copy, split_by_subject
from erasure_engine.verification.verdict import CLOSER_TO_TARGET, HIGHER_IS_BETTER, LOWER_IS_BETTER

SECRET = "verification-unit"
FAST_POLICY = {"batch_size": 64, "bootstrap_repetitions": 20, "relearn_steps": 2, "quantization_bits": [4]}


@pytest.fixture(scope="module")
def tokenizer():
    torch.set_num_threads(1)
    return train_tokenizer([r.content["text"] for r in generate_general_text(40, seed=2)], vocab_size=300)


@pytest.fixture(scope="module")
def text_sets():
    subjects = records_from_subjects(generate_subjects(4, seed=2), SECRET)
    first_two = {r.subject_key for r in subjects[:20]}
    return {
        "forget": [r for r in subjects if r.subject_key in first_two],
        "retain": [r for r in subjects if r.subject_key not in first_two],
        "holdout": records_from_subjects(generate_holdout_subjects(2, seed=2), SECRET),
    }


@pytest.fixture(scope="module")
def tiny_lm(tokenizer):
    return build_causal_lm(lm_config("tiny", tokenizer=tokenizer), seed=0)


# ------------------------------------------------------------------ policy and verdict


def test_policy_defaults_overrides_and_errors(tmp_path):
    policy = VerificationPolicy.from_dict({"auc_tolerance": 0.1, "relearn_steps": 5, "quantization_bits": [8]})
    assert policy.auc_tolerance == 0.1 and policy.relearn_steps == 5 and policy.quantization_bits == (8,)
    assert VerificationPolicy.from_dict(policy.to_dict()) == policy
    with pytest.raises(InvalidInput, match="unknown verification policy keys"):
        VerificationPolicy.from_dict({"auc_tolerence": 0.1})
    with pytest.raises(InvalidInput):
        VerificationPolicy.from_dict({"relearn_steps": 2.5})
    with pytest.raises(InvalidInput):
        VerificationPolicy.from_dict({"auc_tolerance": "big"})
    with pytest.raises(InvalidInput):
        VerificationPolicy.from_dict({"min_k_fraction": 0})
    path = tmp_path / "policy.json"
    path.write_text(json.dumps({"privleak_tolerance": 5}))
    assert VerificationPolicy.from_json_file(path).privleak_tolerance == 5.0
    path.write_text("[1, 2]")
    with pytest.raises(InvalidInput):
        VerificationPolicy.from_json_file(path)


def test_metric_pass_rules_per_direction():
    assert MetricResult("a", 0.1, LOWER_IS_BETTER, 0.1).passed is True
    assert MetricResult("a", 0.11, LOWER_IS_BETTER, 0.1).passed is False
    assert MetricResult("a", 0.05, HIGHER_IS_BETTER, 0.05).passed is True
    assert MetricResult("a", 0.01, HIGHER_IS_BETTER, 0.05).passed is False
    assert MetricResult("a", 0.56, CLOSER_TO_TARGET, 0.05, target=0.5).passed is False
    assert MetricResult("a", 0.46, CLOSER_TO_TARGET, 0.05, target=0.5).passed is True
    assert MetricResult("a", math.nan, LOWER_IS_BETTER, 1.0).passed is False
    assert MetricResult("a", 9.0, LOWER_IS_BETTER, 1.0, gating=False).passed is None
    with pytest.raises(InvalidInput):
        MetricResult("a", 0.5, CLOSER_TO_TARGET, 0.05)


# ------------------------------------------------------------------ probes and attacks


def test_qa_probe_splits_at_the_answer(tokenizer, text_sets):
    record = next(r for r in text_sets["forget"] if is_qa_record(r))
    probe = qa_probe(tokenizer, record, max_length=None)
    assert (
        probe.prompt_ids + probe.answer_ids == encode_text(tokenizer, record.content["text"])[:-1]
    )  # minus end-of-text
    assert tokenizer.decode(probe.answer_ids).strip() == record.content["answer"]
    assert tokenizer.decode(probe.prompt_ids).rstrip().endswith("Answer:")
    # A context shorter than the text keeps only the answer tokens training saw.
    cut = qa_probe(tokenizer, record, max_length=len(probe.prompt_ids) + 2)
    assert cut.prompt_ids == probe.prompt_ids and cut.answer_ids == probe.answer_ids[:2]
    assert not is_qa_record(Record("x", "k", {"text": "no answer here", "answer": "elsewhere"}))


def test_extraction_split_keeps_prefix_and_continuation_non_empty():
    assert split_for_extraction([1, 2, 3, 4, 5, 6], 0.5, 2) == ([1, 2, 3], [4, 5])
    assert split_for_extraction([1, 2], 0.99, 8) == ([1], [2])
    assert split_for_extraction([1, 2, 3], 0.01, 8) == ([1], [2, 3])


def test_relearning_split_keeps_subjects_whole_and_leaves_the_model_untouched(tiny_lm, tokenizer, text_sets):
    attack, evaluation = split_by_subject(text_sets["forget"], 0.25, seed=0)
    assert attack and evaluation
    assert not {r.subject_key for r in attack} & {r.subject_key for r in evaluation}
    before = {name: tensor.clone() for name, tensor in tiny_lm.state_dict().items()}
    tuned = finetuned_copy(tiny_lm, attack, tokenizer=tokenizer, steps=2, learning_rate=1e-2, batch_size=4, seed=0)
    assert all(torch.equal(before[name], tensor) for name, tensor in tiny_lm.state_dict().items())
    assert not torch.equal(tuned.transformer.h[0].mlp.c_fc.weight, tiny_lm.transformer.h[0].mlp.c_fc.weight)


def test_fake_quantization_levels_and_error_bound():
    weight = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
    weight[2] = 0.0
    for bits in (8, 4):
        quantized = fake_quantize(weight, bits, channel_dim=0)
        levels = 2 ** (bits - 1) - 1
        scale = weight.abs().amax(dim=1, keepdim=True) / levels
        assert torch.all((quantized - weight).abs() <= scale / 2 + 1e-7)
        for row in (0, 1, 3):
            assert len(torch.unique(quantized[row])) <= 2 * levels + 1
    assert torch.equal(fake_quantize(weight, 4, 0)[2], torch.zeros(16))


def test_quantized_copy_touches_linear_weights_only(tiny_lm):
    quantized = quantized_copy(tiny_lm, 4)
    assert torch.equal(quantized.transformer.wte.weight, tiny_lm.transformer.wte.weight)  # tied head kept
    original = tiny_lm.transformer.h[0].attn.c_attn.weight
    assert not torch.equal(quantized.transformer.h[0].attn.c_attn.weight, original)
    assert len(torch.unique(quantized.transformer.h[0].attn.c_attn.weight[:, 0])) <= 15  # per output column


# ------------------------------------------------------------------ verify(): inputs and classifier


def test_verify_rejects_bad_inputs(tiny_lm, tokenizer, text_sets):
    sets = text_sets
    with pytest.raises(InvalidInput, match="forget set is empty"):
        verify(tiny_lm, tiny_lm, [], sets["retain"], sets["holdout"], tokenizer=tokenizer)
    with pytest.raises(InvalidInput, match="never-seen"):
        verify(tiny_lm, tiny_lm, sets["forget"], sets["retain"], sets["forget"][:3], tokenizer=tokenizer)
    with pytest.raises(InvalidInput, match="needs its tokenizer"):
        verify(tiny_lm, tiny_lm, sets["forget"], sets["retain"], sets["holdout"])
    other = build_causal_lm(lm_config("tiny", tokenizer=tokenizer, overrides={"vocab_size": 400}), seed=0)
    with pytest.raises(InvalidInput, match="tokenizer mismatch"):
        verify(tiny_lm, other, sets["forget"], sets["retain"], sets["holdout"], tokenizer=tokenizer)
    with pytest.raises(InvalidInput, match="report_only"):
        verify(
            tiny_lm,
            tiny_lm,
            sets["forget"],
            sets["retain"],
            sets["holdout"],
            tokenizer=tokenizer,
            policy={"report_only": ["membership.nothing.auc"]},
        )


def test_classifier_verdict_runs_every_check():
    subjects = generate_subjects(8, seed=4)
    records = generate_tabular(subjects, SECRET, seed=4, records_per_subject=6)
    holdout = generate_tabular(generate_holdout_subjects(4, seed=4), SECRET, seed=4, records_per_subject=6)
    forget_keys = {r.subject_key for r in records[:12]}
    forget = [r for r in records if r.subject_key in forget_keys]
    retain = [r for r in records if r.subject_key not in forget_keys]
    model = build_classifier(ClassifierConfig(input_dim=8, num_classes=3), seed=0)
    verdict = verify(model, model, forget, retain, holdout, oracle=model, policy=FAST_POLICY, seed=0)
    names = {m.name for m in verdict.metrics}
    assert {
        "membership.loss.auc",
        "membership.confidence.auc",
        "oracle.privleak",
        "utility.retain_accuracy_drop",
        "relearn_forget.membership_auc",
        "quantized_4bit.membership_auc",
    } <= names
    # The candidate *is* the oracle and the parent: zero distance, zero utility loss.
    assert verdict.metric("oracle.privleak").value == 0.0
    assert verdict.metric("oracle.forget_quality").value == 1.0
    assert verdict.metric("utility.retain_accuracy_drop").value == 0.0
    assert verdict.kind == "classifier" and "tokenizer" not in verdict.inputs


# ------------------------------------------------------------------ command line


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r.to_json()) + "\n" for r in records))
    return str(path)


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory, tiny_lm, tokenizer, text_sets):
    root = tmp_path_factory.mktemp("verify-cli")
    for name in ("candidate", "parent"):
        tiny_lm.save_pretrained(root / name)
        tokenizer.save_pretrained(root / name)
    mismatched = train_tokenizer(["a completely different corpus of words"] * 5, vocab_size=270)
    build_causal_lm(lm_config("tiny", tokenizer=mismatched), seed=0).save_pretrained(root / "foreign")
    mismatched.save_pretrained(root / "foreign")
    files = {name: write_jsonl(root / f"{name}.jsonl", records) for name, records in text_sets.items()}
    files["dataset"] = write_jsonl(root / "dataset.jsonl", text_sets["forget"] + text_sets["retain"])
    files["empty"] = write_jsonl(root / "empty.jsonl", [])
    (root / "policy.json").write_text(json.dumps(FAST_POLICY))
    (root / "bad_policy.json").write_text(json.dumps({"auc_tolerance": 0.1, "no_such_key": 1}))
    return root, files


def test_cli_verify_writes_verdict_and_plots(cli_files, text_sets):
    root, files = cli_files
    subject = text_sets["forget"][0].subject_key
    code = main(
        [
            "verify",
            "--candidate",
            str(root / "candidate"),
            "--parent",
            str(root / "parent"),
            "--dataset",
            files["dataset"],
            "--subject-key",
            subject,
            "--holdout",
            files["holdout"],
            "--policy",
            str(root / "policy.json"),
            "--seed",
            "3",
            "--out",
            str(root / "out"),
        ]
    )
    verdict = json.loads((root / "out" / "verdict.json").read_text())
    assert code == {"passed": 0, "failed": 1, "inconclusive": 3}[verdict["outcome"]]
    assert verdict["seed"] == 3 and verdict["inputs"]["datasets"]["forget"]["records"] == 10
    assert verdict["policy"]["bootstrap_repetitions"] == 20
    assert (root / "out" / "membership_roc.png").stat().st_size > 0
    assert (root / "out" / "loss_histograms.png").stat().st_size > 0


def test_cli_errors(cli_files, capsys):
    root, files = cli_files
    base = [
        "verify",
        "--candidate",
        str(root / "candidate"),
        "--parent",
        str(root / "parent"),
        "--retain",
        files["retain"],
        "--holdout",
        files["holdout"],
        "--out",
        str(root / "err"),
    ]
    assert main([*base, "--forget", files["empty"]]) == 2
    assert "forget set is empty" in capsys.readouterr().err
    assert main([*base, "--forget", files["forget"], "--policy", str(root / "bad_policy.json")]) == 2
    assert "no_such_key" in capsys.readouterr().err
    foreign = [*base, "--forget", files["forget"]]
    foreign[foreign.index(str(root / "parent"))] = str(root / "foreign")
    assert main(foreign) == 2
    assert "tokenizer mismatch" in capsys.readouterr().err


def test_cli_mia_in_a_subprocess(cli_files):
    root, files = cli_files
    out = root / "mia.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "erasure_engine",
            "mia",
            "--model",
            str(root / "candidate"),
            "--forget",
            files["forget"],
            "--holdout",
            files["holdout"],
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(out.read_text())
    assert set(report["attacks"]) == {"loss", "zlib", "min_k", "min_k_pp"}
    assert report["members"] == 20 and 0.0 <= report["attacks"]["loss"]["auc"] <= 1.0
    assert "AUC" in result.stdout
