"""Exact unlearning on the team's own pretrained model: SISA LoRA adapters per shard and slice on a
base of any family the loader accepts (tiny random-init Llama, Qwen2, Mistral, GPT-NeoX and Phi,
saved here with their tokenizers; nothing downloaded). The base is stored once, checkpoints hold
adapters only, and a shard retrained after an erasure is bit-identical to training it from
scratch without the erased records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from erasure_engine.cli import build_parser, main
from erasure_engine.datagen import (
    DEFAULT_PUBLIC_PERSONS,
    PUBLIC_PERSONS_ENV,
    generate_general_text,
    generate_subjects,
    records_from_subjects,
)
from erasure_engine.datasets import DatasetStore
from erasure_engine.errors import InvalidInput, ObjectNotFound
from erasure_engine.models import build_causal_lm, lm_config, load_tokenizer, train_tokenizer
from erasure_engine.sisa import store_pretrained_base, train_all
from erasure_engine.sisa.manifest import ModelRegistry
from erasure_engine.sisa.unlearn import deletions_from_dataset, unlearn_exact
from erasure_engine.storage import LocalObjectStore
from tests.engine.sisa_fixtures import tiny_config, tiny_dataset

FAMILIES = ["llama", "qwen2", "mistral", "gpt_neox", "phi"]
SECRET = "team-base-secret"


def team_base(directory: Path, architecture: str, *, without_pad: bool = False) -> Path:
    """A pretrained model as a team ships it: weights and tokenizer in one save_pretrained folder."""
    tokenizer = train_tokenizer([r.content["text"] for r in generate_general_text(40, seed=2)], vocab_size=320)
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer, architecture=architecture), seed=0)
    if without_pad:  # Llama-style: a BOS token, no pad token
        tokenizer.pad_token = None
        model.config.pad_token_id = None
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.mark.parametrize("architecture", FAMILIES)
def test_a_retrained_shard_on_the_teams_base_is_bit_identical_to_training_without_the_records(architecture, tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    shared = store_pretrained_base(store, "team-lm", team_base(tmp_path / "base", architecture))
    assert shared["base"].prefix.startswith("models/team-lm/bases/p-") and shared["base"].weights_digest
    config, dataset = tiny_config("lm-lora"), tiny_dataset("lm-lora")
    version = train_all(store, "team-lm", dataset, config, shared_assets=shared)
    subject = dataset.records_in(1, 1)[0].subject_key
    deleted = dataset.record_ids_of_subjects([subject])
    after = dataset.without(deleted)
    unlearned = unlearn_exact(
        store,
        "team-lm",
        version.version_id,
        dataset_after=after,
        deletions=deletions_from_dataset(dataset, record_ids=deleted),
    )
    scratch = train_all(store, "team-lm-scratch", after, config, shared_assets=shared)
    assert unlearned.shard_digests == scratch.shard_digests
    assert (
        unlearned.shard_digests[1] != version.shard_digests[1]
        and unlearned.shard_digests[0] == version.shard_digests[0]
    )
    assert unlearned.assets == version.assets == shared  # the same base, never retrained or copied


def test_the_cli_trains_on_a_llama_base_without_a_pad_token_storing_adapters_only(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ERASURE_SUBJECT_KEY_SECRET", SECRET)
    base_dir = team_base(tmp_path / "llama-base", "llama", without_pad=True)
    assert (
        load_tokenizer(base_dir).bos_token is not None
        and json.loads((base_dir / "config.json").read_text())["model_type"] == "llama"
    )
    store_dir = tmp_path / "store"
    records = records_from_subjects(generate_subjects(8, seed=4), SECRET)
    DatasetStore(LocalObjectStore(store_dir), "bios").create_version(records, shards=2, slices=2, seed=1)
    command = ["train", "--store", str(store_dir), "--dataset", "bios", "--name", "team-lm", "--kind", "lm-lora"]
    command += ["--base", str(base_dir), "--max-length", "32", "--batch-size", "8"]
    assert main(command) == 0
    summary = json.loads(capsys.readouterr().out)
    store = LocalObjectStore(store_dir)
    version = ModelRegistry(store).load("team-lm", summary["version_id"])
    files = [name for shard in version.checkpoints for checkpoint in shard for name in checkpoint.files]
    assert files and not any(Path(name).name.startswith("model") for name in files)  # adapters only, no base weights
    assert any(name.endswith("adapter_model.safetensors") for name in files)
    bases = {key.split("/bases/")[1].split("/")[0] for key in store.list_keys("models/team-lm/bases/")}
    assert len(bases) == 1  # stored once, referenced by digest
    # Training again on the same base reuses it: still one base, the same version.
    assert main(command) == 0 and json.loads(capsys.readouterr().out)["version_id"] == summary["version_id"]
    assert len({key.split("/bases/")[1].split("/")[0] for key in store.list_keys("models/team-lm/bases/")}) == 1
    assert main([*command[:-4], "--kind", "lm", "--base", str(base_dir)]) == 2
    assert "--kind lm-lora" in capsys.readouterr().err


def test_a_base_without_a_tokenizer_or_with_pickle_weights_is_refused(tmp_path):
    store = LocalObjectStore(tmp_path / "store")
    directory = team_base(tmp_path / "base", "qwen2")
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (directory / name).unlink(missing_ok=True)
    with pytest.raises(InvalidInput, match="no tokenizer"):
        store_pretrained_base(store, "team-lm", directory)
    with pytest.raises(ObjectNotFound, match="does not exist"):
        store_pretrained_base(store, "team-lm", tmp_path / "nowhere")


def test_the_cli_and_the_platform_default_to_the_same_base_text(monkeypatch):
    """Defaults are the good path: `train`'s --public-persons is the platform's setting, from the same variable."""
    monkeypatch.delenv(PUBLIC_PERSONS_ENV, raising=False)
    args = build_parser().parse_args(["train", "--store", "s", "--dataset", "d", "--name", "n", "--kind", "lm-lora"])
    assert args.public_persons == DEFAULT_PUBLIC_PERSONS == 800
    monkeypatch.setenv(PUBLIC_PERSONS_ENV, "40")
    args = build_parser().parse_args(["train", "--store", "s", "--dataset", "d", "--name", "n", "--kind", "lm-lora"])
    assert args.public_persons == 40
