"""Sizes beyond toys: device/dtype choice, gradient checkpointing, and the memory estimate that
refuses a job which cannot fit before it starts."""

from __future__ import annotations

import pytest
import torch

from erasure_engine.cli import main
from erasure_engine.datagen import generate_general_text, generate_subjects, records_from_subjects
from erasure_engine.datasets.jsonl import encode_records
from erasure_engine.errors import InvalidInput
from erasure_engine.models import build_causal_lm, lm_config, load_causal_lm, memory, train_tokenizer
from erasure_engine.models.devices import resolve_device, resolve_dtype
from erasure_engine.models.memory import check_memory, estimate_memory, model_shape, saved_model_shape
from erasure_engine.unlearning import unlearn

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def llama(tmp_path_factory):
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(30, seed=4)], vocab_size=300)
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer, architecture="llama"), seed=0)
    directory = tmp_path_factory.mktemp("llama")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    records = records_from_subjects(generate_subjects(2, seed=4), "memory")
    return {"dir": directory, "model": model, "tokenizer": tokenizer, "forget": records[:5], "retain": records[5:]}


def test_cpu_means_float32_and_unknown_choices_are_named():
    cpu = resolve_device("cpu")
    assert resolve_dtype("auto", cpu) == torch.float32 and resolve_dtype("bfloat16", cpu) == torch.bfloat16
    if not torch.cuda.is_available():
        assert resolve_device("auto").type == "cpu"
        with pytest.raises(InvalidInput, match="no GPU"):
            resolve_device("cuda")
    with pytest.raises(InvalidInput, match="unknown dtype"):
        resolve_dtype("int3", cpu)
    with pytest.raises(InvalidInput, match="unknown device"):
        resolve_device("abacus")


def test_the_shape_comes_from_the_config_without_reading_weights(llama):
    shape = saved_model_shape(llama["dir"])
    assert shape == model_shape(llama["model"])
    assert shape.parameters == sum(p.numel() for p in llama["model"].parameters()) and shape.layers == 2


def test_estimates_order_methods_and_options_sensibly(llama):
    shape = model_shape(llama["model"])

    def total(job, **options):
        return estimate_memory(shape, job, batch_size=8, sequence_length=64, **options).total

    assert total("lora") < total("npo") and total("npo") < total("verify") + total("npo")
    assert total("npo", gradient_checkpointing=True) < total("npo")
    assert total("npo", dtype=torch.bfloat16) < total("npo")
    with pytest.raises(InvalidInput, match="no memory estimate"):
        total("retrain-everything")
    estimate = estimate_memory(shape, "npo", sequence_length=64)
    with pytest.raises(InvalidInput, match="not enough memory") as refused:
        check_memory(estimate, estimate.total - 1)
    assert refused.value.details["estimate"]["total_bytes"] == estimate.total
    assert "close to the memory limit" in check_memory(estimate, int(estimate.total * 1.05))
    assert check_memory(estimate, estimate.total * 10) is None


def test_gradient_checkpointing_gives_the_same_candidate(llama):
    plain = load_causal_lm(llama["dir"])
    checkpointed = load_causal_lm(llama["dir"], gradient_checkpointing=True)
    runs = [
        unlearn(
            "npo",
            model,
            forget=llama["forget"],
            retain=llama["retain"],
            tokenizer=llama["tokenizer"],
            params={"steps": 2, "lr": 1e-3},
            seed=0,
        ).model
        for model in (plain, checkpointed)
    ]
    for (name, a), (_, b) in zip(runs[0].state_dict().items(), runs[1].state_dict().items()):
        assert torch.allclose(a, b, atol=1e-6), name
    assert any(getattr(m, "gradient_checkpointing", False) for m in runs[1].modules())


def test_the_command_refuses_a_job_that_cannot_fit(llama, tmp_path, monkeypatch, capsys):
    (tmp_path / "forget.jsonl").write_bytes(encode_records(llama["forget"]))
    (tmp_path / "retain.jsonl").write_bytes(encode_records(llama["retain"]))
    arguments = [
        "unlearn-approx",
        "--method",
        "npo",
        "--param",
        "steps=1",
        "--model",
        str(llama["dir"]),
        "--forget",
        str(tmp_path / "forget.jsonl"),
        "--retain",
        str(tmp_path / "retain.jsonl"),
        "--device",
        "cpu",
    ]
    monkeypatch.setattr(memory, "available_memory", lambda device: 1024)
    assert main([*arguments, "--output", str(tmp_path / "refused")]) == 2
    assert "not enough memory" in capsys.readouterr().err and not (tmp_path / "refused").exists()
    assert main([*arguments, "--output", str(tmp_path / "forced"), "--skip-memory-check"]) == 0
    monkeypatch.undo()
    assert main([*arguments, "--output", str(tmp_path / "out"), "--gradient-checkpointing"]) == 0
    assert "memory: npo on cpu in float32" in capsys.readouterr().err
    assert load_causal_lm(tmp_path / "out" / "model").config.model_type == "llama"
