"""Command line: train, models list/show, predict, score, unlearn-exact."""

from __future__ import annotations

import json
import subprocess
import sys

from erasure_engine.cli import main
from erasure_engine.datagen import (
    base_model_texts,
    build_corpus,
    generate_holdout_subjects,
    generate_subjects,
    generate_tabular,
)
from erasure_engine.datasets import DatasetStore
from erasure_engine.sisa import ModelRegistry, load_shard_model
from erasure_engine.sisa.trainer import training_version_id
from erasure_engine.storage import LocalObjectStore

SECRET = "cli-secret"


def _run(capsys, *argv) -> tuple[int, dict | None, str]:
    code = main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, (json.loads(captured.out) if code == 0 else None), captured.err


def test_train_inspect_predict_unlearn(tmp_path, capsys):
    corpus = build_corpus("tiny", seed=2, secret=SECRET)
    datasets = DatasetStore(LocalObjectStore(tmp_path), "tab")
    version = datasets.create_version(generate_tabular(corpus.subjects, SECRET, seed=2), shards=2, slices=2, seed=1)
    store = ["--store", tmp_path]

    code, trained, _ = _run(
        capsys,
        "train",
        *store,
        "--dataset",
        "tab",
        "--name",
        "clf",
        "--kind",
        "classifier",
        "--shards",
        2,
        "--slices",
        2,
        "--epochs",
        2,
        "--seed",
        4,
    )
    assert code == 0 and trained["dataset"]["version_id"] == version.version_id and len(trained["shard_digests"]) == 2

    code, listing, _ = _run(capsys, "models", "list", *store)
    assert listing["models"][0]["versions"][0]["version_id"] == trained["version_id"]
    code, shown, _ = _run(capsys, "models", "show", *store, "--name", "clf", "--version", trained["version_id"])
    assert shown["shard_digests"] == trained["shard_digests"] and len(shown["checkpoint_digests"][0]) == 2

    features = json.dumps(generate_tabular(corpus.subjects[:1], SECRET, seed=2)[0].content["features"])
    code, predicted, _ = _run(
        capsys,
        "predict",
        *store,
        "--name",
        "clf",
        "--version",
        trained["version_id"],
        "--features",
        features,
        "--aggregate",
        "vote",
    )
    assert code == 0 and predicted["predictions"][0]["label"] in (0, 1, 2)

    record_id = version.records_in(1, 1)[0].record_id
    code, lineage, _ = _run(
        capsys, "unlearn-exact", *store, "--name", "clf", "--version", trained["version_id"], "--record-id", record_id
    )
    assert code == 0 and lineage["parent_version_id"] == trained["version_id"]
    assert lineage["lineage"]["affected"] == [{"shard": 1, "first_slice": 1, "slices_retrained": 1}]
    assert lineage["shard_digests"][0] == trained["shard_digests"][0] != lineage["shard_digests"][1]

    # Compliance at once: another record, deactivated instead of retrained (its shard falls back or drops out).
    other = version.records_in(0, 1)[0]
    code, deactivated, _ = _run(
        capsys,
        "unlearn-exact",
        *store,
        "--name",
        "clf",
        "--version",
        lineage["version_id"],
        "--record-id",
        other.record_id,
        "--deactivate",
    )
    assert code == 0 and deactivated["lineage"]["deactivated"] == [{"shard": 0, "active_slices": 1, "dropped": False}]
    assert deactivated["shard_digests"][1] == lineage["shard_digests"][1] != deactivated["shard_digests"][0]
    assert deactivated["time_to_compliance_seconds"] >= 0 and deactivated["shard_weights"][0] > 0

    code, _, err = _run(
        capsys,
        "unlearn-exact",
        *store,
        "--name",
        "clf",
        "--version",
        trained["version_id"],
        "--record-id",
        "no-such-record",
    )
    assert code == 2 and "error [invalid_input]" in err and "no-such-record" in err
    code, _, err = _run(capsys, "train", *store, "--dataset", "tab", "--name", "clf", "--shards", 3)
    assert code == 2 and "--shards 3 does not match" in err


def test_lm_train_score_and_subprocess(tmp_path, capsys):
    corpus = build_corpus("tiny", seed=2, secret=SECRET)
    DatasetStore(LocalObjectStore(tmp_path), "bios").create_version(corpus.records[:24], shards=1, slices=1, seed=1)
    store = ["--store", tmp_path]
    code, trained, _ = _run(
        capsys,
        "train",
        *store,
        "--dataset",
        "bios",
        "--name",
        "lm",
        "--kind",
        "lm",
        "--max-length",
        32,
        "--general-count",
        40,
    )
    assert code == 0
    code, scored, _ = _run(
        capsys,
        "score",
        *store,
        "--name",
        "lm",
        "--version",
        trained["version_id"],
        "--text",
        corpus.records[0].content["text"],
    )
    assert code == 0 and scored["texts"][0]["loss"] > 0 and scored["perplexity"] > 1
    code, _, err = _run(
        capsys, "predict", *store, "--name", "lm", "--version", trained["version_id"], "--features", "[1]"
    )
    assert code == 2 and "is a lm, not classifier" in err
    # Once through the real entry point, as an operator would run it.
    shown = subprocess.run(
        [
            sys.executable,
            "-m",
            "erasure_engine",
            "models",
            "show",
            "--store",
            str(tmp_path),
            "--name",
            "lm",
            "--version",
            trained["version_id"],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(shown.stdout)["shard_digests"] == trained["shard_digests"]


def test_lora_base_trains_on_general_and_public_persons_text(tmp_path, capsys):
    corpus = build_corpus("tiny", seed=2, secret=SECRET)
    store = LocalObjectStore(tmp_path)
    dataset = DatasetStore(store, "bios").create_version(corpus.records[:20], shards=2, slices=1, seed=1)
    code, trained, _ = _run(
        capsys,
        *("train", "--store", tmp_path, "--dataset", "bios", "--name", "lora", "--kind", "lm-lora"),
        *("--max-length", 32, "--general-count", 20, "--public-persons", 3, "--general-seed", 4),
    )
    assert code == 0
    config = ModelRegistry(store).load("lora", trained["version_id"]).training
    with_public = base_model_texts(general=20, public_persons=3, seed=4)
    general_only = base_model_texts(general=20, public_persons=0, seed=4)
    assert trained["version_id"] == training_version_id("lora", dataset, config, general_texts=with_public)
    assert trained["version_id"] != training_version_id("lora", dataset, config, general_texts=general_only)


def test_verify_uses_a_sisa_versions_shards_as_lira_references(tmp_path, capsys):

    subjects = generate_subjects(9, 3)
    records = generate_tabular(subjects, SECRET, seed=3, records_per_subject=3)
    holdout = generate_tabular(generate_holdout_subjects(6, 3), SECRET, seed=3, records_per_subject=3)
    store = LocalObjectStore(tmp_path / "store")
    DatasetStore(store, "tab").create_version(records, shards=3, slices=1, seed=1)
    code, trained, _ = _run(
        capsys, "train", "--store", tmp_path / "store", "--dataset", "tab", "--name", "clf", "--kind", "classifier"
    )
    assert code == 0
    version = ModelRegistry(store).load("clf", trained["version_id"])
    load_shard_model(store, version, 0).save_pretrained(tmp_path / "model")
    for name, rows in (("dataset", records), ("holdout", holdout)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r.to_json()) + "\n" for r in rows))
    (tmp_path / "policy.json").write_text(json.dumps({"bootstrap_repetitions": 20, "relearn_steps": 2}))
    base = [
        "verify",
        "--candidate",
        tmp_path / "model",
        "--parent",
        tmp_path / "model",
        "--dataset",
        tmp_path / "dataset.jsonl",
        "--subject-key",
        records[0].subject_key,
        "--holdout",
        tmp_path / "holdout.jsonl",
        "--policy",
        tmp_path / "policy.json",
        "--out",
        tmp_path / "out",
    ]
    code = main(
        [
            str(arg)
            for arg in [*base, "--references", tmp_path / "store", "--references-version", f"clf/{version.version_id}"]
        ]
    )
    assert code in (0, 1, 3), capsys.readouterr().err
    verdict = json.loads((tmp_path / "out" / "verdict.json").read_text())
    assert [ref["source"] for ref in verdict["inputs"]["references"]] == [
        f"clf/{version.version_id} shard {shard}" for shard in range(3)
    ]
    assert sum(ref["trained_subjects"] for ref in verdict["inputs"]["references"]) == 9
    assert "membership.lira.auc" in {metric["name"] for metric in verdict["metrics"]}
    assert main([str(arg) for arg in [*base, "--references", tmp_path / "store"]]) == 2
    assert "go together" in capsys.readouterr().err
