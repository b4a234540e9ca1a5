"""Bring your own model: tiny random-init models of several families transformers ships, briefly
trained here on generated text, go through loading, every approximate method, scoring, the
verification attacks and `verify`, and keep their architecture; wrong checkpoints are refused."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from erasure_engine.cli import main
from erasure_engine.datagen import (
    generate_general_text,
    generate_holdout_subjects,
    generate_subjects,
    records_from_subjects,
)
from erasure_engine.datasets.jsonl import encode_records
from erasure_engine.errors import CheckpointMismatch, InvalidInput, UnsafeCheckpoint
from erasure_engine.models import (
    build_causal_lm,
    lm_config,
    load_causal_lm,
    load_tokenizer,
    perplexity,
    record_losses,
    tensor_digests,
    train_tokenizer,
    weights_digest,
)
from erasure_engine.models.lm import ARCHITECTURE_SIZES
from erasure_engine.unlearning import unlearn
from erasure_engine.unlearning.approximate.tasks import LanguageModelTask, mean_nll
from erasure_engine.verification import verify
from erasure_engine.verification.generation import greedy_continuations
from erasure_engine.verification.quantization import quantized_copy

torch.set_num_threads(1)
SECRET = "architectures"
FAMILIES = sorted(ARCHITECTURE_SIZES)  # gpt2, gpt_neox, llama, mistral, opt, phi, qwen2
CLASSES = {
    "gpt2": "GPT2LMHeadModel",
    "llama": "LlamaForCausalLM",
    "qwen2": "Qwen2ForCausalLM",
    "mistral": "MistralForCausalLM",
    "gpt_neox": "GPTNeoXForCausalLM",
    "phi": "PhiForCausalLM",
    "opt": "OPTForCausalLM",
}
METHODS = {
    "gradient_ascent": {"lr": 1e-3, "steps": 3},
    "gradient_difference": {"lr": 1e-3, "steps": 3},
    "npo": {"lr": 1e-3, "steps": 3},
    "ssd": {"alpha": 1.0, "lambda": 1.0},
    "lora": {"lr": 1e-2, "steps": 3, "objective": "npo"},
}
POLICY = {"batch_size": 64, "bootstrap_repetitions": 20, "report_only": ["utility.general_perplexity_increase"]}


@pytest.fixture(scope="module")
def data():
    records = records_from_subjects(generate_subjects(4, seed=1), SECRET)
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(40, seed=1)], vocab_size=320)
    forget_key = records[0].subject_key
    return {
        "tokenizer": tokenizer,
        "forget": [r for r in records if r.subject_key == forget_key],
        "retain": [r for r in records if r.subject_key != forget_key],
        "holdout": records_from_subjects(generate_holdout_subjects(2, seed=1), SECRET),
    }


def train_briefly(model, tokenizer, records, *, steps: int = 30) -> None:
    task = LanguageModelTask(model, tokenizer)
    items = task.prepare(records, "train")
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-3)
    model.train()
    for _ in range(steps):
        loss = mean_nll(task, model, task.collate(items, torch.device("cpu")))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()


@pytest.fixture(scope="module", params=FAMILIES)
def saved(request, data, tmp_path_factory):
    """(family, directory) of a model of that family trained here, saved with its tokenizer."""
    family = request.param
    model = build_causal_lm(lm_config("tiny", tokenizer=data["tokenizer"], architecture=family), seed=0)
    train_briefly(model, data["tokenizer"], data["forget"] + data["retain"])
    directory = tmp_path_factory.mktemp(f"model-{family}")
    model.save_pretrained(directory)
    data["tokenizer"].save_pretrained(directory)
    return family, directory, model


def assert_family(model, family: str) -> None:
    assert model.config.model_type == family
    assert type(model).__name__ == CLASSES[family]


def test_a_saved_model_reloads_as_its_own_architecture_and_scores(saved, data):
    family, directory, trained = saved
    assert json.loads((directory / "config.json").read_text())["model_type"] == family
    loaded = load_causal_lm(directory)
    assert_family(loaded, family)
    assert tensor_digests(loaded) == tensor_digests(trained)
    texts = [r.content["text"] for r in data["retain"]]
    untrained = build_causal_lm(loaded.config, seed=1)
    # Trained briefly on these texts: well below the untrained model's near-uniform perplexity.
    assert perplexity(loaded, data["tokenizer"], texts) < 0.5 * perplexity(untrained, data["tokenizer"], texts)
    assert record_losses(loaded, data["tokenizer"], texts) == record_losses(trained, data["tokenizer"], texts)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_every_method_unlearns_and_keeps_the_architecture(saved, data, method, tmp_path):
    family, directory, _ = saved
    model = load_causal_lm(directory)
    tokenizer = load_tokenizer(directory)
    result = unlearn(
        method, model, forget=data["forget"], retain=data["retain"], tokenizer=tokenizer, params=METHODS[method], seed=0
    )
    candidate = result.merged_model()
    assert_family(candidate, family)
    assert weights_digest(candidate) != weights_digest(model), f"{method} changed nothing on {family}"
    if method != "ssd":
        task = LanguageModelTask(model, tokenizer)
        batch = task.collate(task.prepare(data["forget"], "forget"), torch.device("cpu"))
        with torch.no_grad():
            assert mean_nll(task, candidate, batch) > mean_nll(task, model, batch)
    result.save(tmp_path / "out")
    assert json.loads((tmp_path / "out" / "model" / "config.json").read_text())["model_type"] == family
    reloaded = load_causal_lm(tmp_path / "out" / "model")
    assert_family(reloaded, family)
    assert weights_digest(reloaded) == weights_digest(candidate)


def test_batched_greedy_decoding_matches_one_prompt_at_a_time(saved, data):
    family, _, model = saved
    from erasure_engine.verification.lm_statistics import encode_text

    prompts = [encode_text(data["tokenizer"], r.content["text"])[: 3 + i] for i, r in enumerate(data["forget"][:4])]
    batched = greedy_continuations(model, prompts, [5] * len(prompts), batch_size=4)
    alone = [greedy_continuations(model, [prompt], [5], batch_size=1)[0] for prompt in prompts]
    assert batched == alone


def test_quantization_rounds_every_linear_layer_but_keeps_embeddings_and_head(saved):
    family, _, model = saved
    quantized = quantized_copy(model, 4)
    before, after = tensor_digests(model), tensor_digests(quantized)
    changed = {name for name in before if before[name] != after[name]}
    assert changed, f"nothing was quantized in {family}"
    head = model.get_output_embeddings().weight
    embeddings = model.get_input_embeddings().weight
    for name, parameter in model.named_parameters():
        if parameter is head or parameter is embeddings:
            assert name not in changed
    assert_family(quantized, family)


def test_verify_runs_on_every_family(saved, data):
    family, directory, _ = saved
    parent = load_causal_lm(directory)
    candidate = unlearn(
        "gradient_ascent",
        parent,
        forget=data["forget"],
        retain=data["retain"],
        tokenizer=load_tokenizer(directory),
        params=METHODS["gradient_ascent"],
        seed=0,
    ).merged_model()
    verdict = verify(
        candidate,
        parent,
        data["forget"],
        data["retain"],
        data["holdout"],
        tokenizer=load_tokenizer(directory),
        policy=POLICY,
        seed=0,
    )
    names = {metric.name for metric in verdict.metrics}
    assert any("quantiz" in name for name in names) and any("extraction" in name for name in names), names
    assert_family(candidate, family)


def test_unlearn_approx_and_verify_commands_keep_a_llama_a_llama(data, tmp_path, capsys):
    model = build_causal_lm(lm_config("tiny", tokenizer=data["tokenizer"], architecture="llama"), seed=0)
    model.save_pretrained(tmp_path / "llama")
    data["tokenizer"].save_pretrained(tmp_path / "llama")
    (tmp_path / "forget.jsonl").write_bytes(encode_records(data["forget"]))
    (tmp_path / "retain.jsonl").write_bytes(encode_records(data["retain"]))
    code = main(
        [
            "unlearn-approx",
            "--method",
            "npo",
            "--param",
            "steps=2",
            "--model",
            str(tmp_path / "llama"),
            "--forget",
            str(tmp_path / "forget.jsonl"),
            "--retain",
            str(tmp_path / "retain.jsonl"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    assert_family(load_causal_lm(tmp_path / "out" / "model"), "llama")
    (tmp_path / "holdout.jsonl").write_bytes(encode_records(data["holdout"]))
    (tmp_path / "policy.json").write_text(json.dumps(POLICY))
    capsys.readouterr()
    code = main(
        [
            "verify",
            "--candidate",
            str(tmp_path / "out" / "model"),
            "--parent",
            str(tmp_path / "llama"),
            "--forget",
            str(tmp_path / "forget.jsonl"),
            "--retain",
            str(tmp_path / "retain.jsonl"),
            "--holdout",
            str(tmp_path / "holdout.jsonl"),
            "--policy",
            str(tmp_path / "policy.json"),
            "--out",
            str(tmp_path / "verdict"),
        ]
    )
    # passed, failed or inconclusive (exit 0, 1, 3) — never an input or load error (exit 2)
    assert code in (0, 1, 3), capsys.readouterr().err
    assert json.loads((tmp_path / "verdict" / "verdict.json").read_text())["metrics"]


def test_unlearn_approx_reads_a_model_from_s3(data, tmp_path, s3_endpoint, s3_client, s3_bucket):
    model = build_causal_lm(lm_config("tiny", tokenizer=data["tokenizer"], architecture="qwen2"), seed=0)
    model.save_pretrained(tmp_path / "qwen")
    data["tokenizer"].save_pretrained(tmp_path / "qwen")
    for path in (tmp_path / "qwen").iterdir():
        s3_client.upload_file(str(path), s3_bucket, f"models/qwen/{path.name}")
    (tmp_path / "forget.jsonl").write_bytes(encode_records(data["forget"]))
    code = main(
        [
            "unlearn-approx",
            "--method",
            "gradient_ascent",
            "--param",
            "steps=1",
            "--model",
            f"s3://{s3_bucket}/models/qwen",
            "--endpoint-url",
            s3_endpoint,
            "--forget",
            str(tmp_path / "forget.jsonl"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    assert_family(load_causal_lm(tmp_path / "out" / "model"), "qwen2")


@pytest.fixture
def llama_dir(data, tmp_path):
    model = build_causal_lm(lm_config("tiny", tokenizer=data["tokenizer"], architecture="llama"), seed=0)
    model.save_pretrained(tmp_path / "llama")
    return tmp_path / "llama", model


def test_weights_of_another_architecture_are_refused_not_randomly_initialised(llama_dir, data, tmp_path, capsys):
    directory, _ = llama_dir
    gpt2 = build_causal_lm(lm_config("tiny", tokenizer=data["tokenizer"]), seed=0)
    # Llama weights under a GPT-2 config: every GPT-2 tensor would be missing.
    (directory / "config.json").write_text(gpt2.config.to_json_string())
    with pytest.raises(CheckpointMismatch, match="do not match its config") as caught:
        load_causal_lm(directory)
    assert caught.value.details["missing_keys"] and caught.value.details["unexpected_keys"]
    (tmp_path / "forget.jsonl").write_bytes(encode_records(data["forget"]))
    code = main(
        [
            "unlearn-approx",
            "--method",
            "gradient_ascent",
            "--model",
            str(directory),
            "--forget",
            str(tmp_path / "forget.jsonl"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2 and not (tmp_path / "out").exists()
    assert "checkpoint_mismatch" in capsys.readouterr().err


def test_a_checkpoint_missing_a_layer_is_refused(llama_dir):
    directory, model = llama_dir
    state = {name: tensor.contiguous() for name, tensor in model.state_dict().items() if ".layers.1." not in name}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(CheckpointMismatch, match="missing keys"):
        load_causal_lm(directory)


def test_a_pickle_only_checkpoint_is_refused(llama_dir):
    directory, model = llama_dir
    (directory / "model.safetensors").unlink()
    torch.save(model.state_dict(), directory / "pytorch_model.bin")
    with pytest.raises(UnsafeCheckpoint, match="pickle"):
        load_causal_lm(directory)


def test_custom_code_and_unknown_architectures_are_refused(llama_dir):
    directory, model = llama_dir
    config = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**config, "model_type": "no-such-family"}))
    with pytest.raises(InvalidInput):
        load_causal_lm(directory)
    (directory / "config.json").write_text(
        json.dumps({**config, "auto_map": {"AutoModelForCausalLM": "modeling.Evil"}})
    )
    (directory / "modeling.py").write_text("raise SystemExit('remote code ran')\n")
    loaded = None
    try:
        loaded = load_causal_lm(directory)
    except InvalidInput:
        pass
    # Either refused or loaded as the declared built-in architecture; the custom code never runs.
    assert loaded is None or type(loaded).__name__ == "LlamaForCausalLM"
