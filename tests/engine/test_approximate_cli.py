"""`unlearn-approx` and `methods` on the command line, with models and records on disk."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

from erasure_engine.cli import main
from erasure_engine.datagen import generate_general_text, generate_subjects, generate_tabular, records_from_subjects
from erasure_engine.datasets import DatasetStore
from erasure_engine.datasets.jsonl import encode_records
from erasure_engine.models import (
    ClassifierConfig,
    MLPClassifier,
    build_causal_lm,
    build_classifier,
    lm_config,
    load_causal_lm,
    load_lora,
    load_tokenizer,
    train_tokenizer,
    weights_digest,
)
from erasure_engine.storage import LocalObjectStore
from erasure_engine.unlearning import RESULT_FILE

torch.set_num_threads(1)
SECRET = "cli-secret"


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory):
    """An (untrained) tiny LM saved with its tokenizer, plus forget/retain JSONL files."""
    root = tmp_path_factory.mktemp("approx-cli")
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(40, seed=0)], vocab_size=300)
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer), seed=0)
    model.save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    records = records_from_subjects(generate_subjects(3, seed=0), SECRET)
    (root / "forget.jsonl").write_bytes(encode_records(records[:10]))
    (root / "retain.jsonl").write_bytes(encode_records(records[10:]))
    return root


def test_unlearn_approx_writes_a_loadable_candidate_and_its_result(lm_dir, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "unlearn-approx",
            "--method",
            "npo",
            "--param",
            "steps=3",
            "--param",
            "beta=0.5",
            "--model",
            str(lm_dir / "model"),
            "--forget",
            str(lm_dir / "forget.jsonl"),
            "--retain",
            str(lm_dir / "retain.jsonl"),
            "--seed",
            "4",
            "--output",
            str(out),
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    saved = json.loads((out / RESULT_FILE).read_text())
    assert saved["params"]["steps"] == 3 and saved["params"]["beta"] == 0.5 and saved["seed"] == 4
    assert printed["forget_records"] == 10 and printed["retain_records"] == 20 and printed["method"] == "npo"
    candidate = load_causal_lm(out / "model")
    load_tokenizer(out / "model")
    assert weights_digest(candidate) != weights_digest(load_causal_lm(lm_dir / "model"))


def test_unlearn_approx_lora_saves_adapter_and_merged_model(lm_dir, tmp_path):
    out = tmp_path / "out"
    assert (
        main(
            [
                "unlearn-approx",
                "--method",
                "lora",
                "--param",
                "steps=2",
                "--param",
                "rank=2",
                "--model",
                str(lm_dir / "model"),
                "--forget",
                str(lm_dir / "forget.jsonl"),
                "--retain",
                str(lm_dir / "retain.jsonl"),
                "--output",
                str(out),
            ]
        )
        == 0
    )
    base = load_causal_lm(lm_dir / "model")
    adapted, merged = load_lora(base, out / "adapter"), load_causal_lm(out / "model")
    ids = torch.tensor([[1, 5, 9, 20, 40]])
    with torch.no_grad():
        assert torch.allclose(adapted(input_ids=ids).logits, merged(input_ids=ids).logits, atol=1e-4)


def test_unlearn_approx_on_a_classifier_from_a_stored_dataset(tmp_path, capsys):
    subjects = generate_subjects(4, seed=0)
    rows = generate_tabular(subjects, SECRET, seed=0, records_per_subject=4)
    store = LocalObjectStore(tmp_path / "store")
    DatasetStore(store, "tabular").create_version(rows, shards=1, slices=1, seed=0)
    build_classifier(ClassifierConfig(input_dim=8, num_classes=3), seed=0).save_pretrained(tmp_path / "clf")
    code = main(
        [
            "unlearn-approx",
            "--method",
            "ssd",
            "--param",
            "alpha=2",
            "--model",
            str(tmp_path / "clf"),
            "--store",
            str(tmp_path / "store"),
            "--dataset",
            "tabular",
            "--subject-key",
            rows[0].subject_key,
            "--output",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["forget_records"] == 4 and printed["retain_records"] == 12 and printed["model_kind"] == "classifier"
    MLPClassifier.from_pretrained(tmp_path / "out" / "model")


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--method", "erase_all"], "unknown unlearning method 'erase_all'"),
        (["--method", "npo", "--param", "steps=many"], "'steps' of method 'npo' must be int"),
        (["--method", "npo", "--param", "gamma=1"], "unknown parameter 'gamma'"),
        (["--method", "npo", "--param", "steps"], "key=value"),
    ],
)
def test_bad_input_exits_2_with_one_line(lm_dir, tmp_path, capsys, extra, message):
    code = main(
        [
            "unlearn-approx",
            *extra,
            "--model",
            str(lm_dir / "model"),
            "--forget",
            str(lm_dir / "forget.jsonl"),
            "--output",
            str(tmp_path / "out"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and message in err and err.startswith("error [invalid_input]")
    assert not (tmp_path / "out").exists()


def test_methods_lists_every_method_with_defaults(capsys):
    assert main(["methods", "--json"]) == 0
    methods = {m["name"]: m for m in json.loads(capsys.readouterr().out)}
    assert set(methods) == {"gradient_ascent", "gradient_difference", "npo", "simnpo", "rmu", "undial", "ssd", "lora"}
    assert {p["name"]: p["default"] for p in methods["ssd"]["params"]}["alpha"] == 10.0


def test_module_entry_point_runs_in_a_subprocess(lm_dir, tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "erasure_engine",
            "unlearn-approx",
            "--method",
            "gradient_ascent",
            "--param",
            "steps=1",
            "--model",
            str(lm_dir / "model"),
            "--forget",
            str(lm_dir / "forget.jsonl"),
            "--output",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "OMP_NUM_THREADS": "1"},
    )
    assert completed.returncode == 0, completed.stderr
    assert json.loads(completed.stdout)["method"] == "gradient_ascent"
    assert (tmp_path / "out" / "model" / "config.json").is_file()
