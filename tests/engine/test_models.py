"""Models built and trained here: tokenizer, GPT-2-style LM, MLP classifier, artifact I/O."""

from __future__ import annotations

import pytest
import torch

from erasure_engine.datagen import generate_general_text
from erasure_engine.errors import IntegrityMismatch, ObjectNotFound
from erasure_engine.models import (
    ClassifierConfig,
    MLPClassifier,
    build_causal_lm,
    build_classifier,
    download_dir,
    file_digests,
    lm_config,
    load_causal_lm,
    load_tokenizer,
    perplexity,
    record_losses,
    tensor_digests,
    train_tokenizer,
    upload_dir,
    weights_digest,
)
from erasure_engine.storage import LocalObjectStore, S3ObjectStore

torch.set_num_threads(1)

TEXTS = [record.content["text"] for record in generate_general_text(40, seed=3)]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(TEXTS, vocab_size=300)


def test_tokenizer_is_deterministic_and_round_trips(tokenizer, tmp_path):
    again = train_tokenizer(TEXTS, vocab_size=300)
    assert again.get_vocab() == tokenizer.get_vocab()
    tokenizer.save_pretrained(str(tmp_path))
    loaded = load_tokenizer(tmp_path)
    text = "Quinn Haverkamp was born in Aarhus."  # a name never seen in training: bytes still cover it
    assert loaded(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded.decode(loaded(text)["input_ids"]) == text
    assert len(tokenizer) <= 300 and tokenizer.pad_token_id != tokenizer.eos_token_id


def test_lm_build_is_seeded_and_dropout_free(tokenizer):
    config = lm_config("tiny", tokenizer=tokenizer)
    assert config.resid_pdrop == config.embd_pdrop == config.attn_pdrop == 0.0
    assert config.vocab_size == len(tokenizer)
    first, second, other = (build_causal_lm(config, seed=s) for s in (1, 1, 2))
    assert weights_digest(first) == weights_digest(second)
    assert weights_digest(first) != weights_digest(other)


def test_lm_save_and_from_pretrained_keep_every_tensor(tokenizer, tmp_path):
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer), seed=5)
    model.save_pretrained(str(tmp_path))
    loaded = load_causal_lm(tmp_path)
    assert tensor_digests(loaded) == tensor_digests(model)
    losses = record_losses(loaded, tokenizer, TEXTS[:3], max_length=48)
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    # An untrained model is close to uniform over the vocabulary.
    assert perplexity(loaded, tokenizer, TEXTS[:3], max_length=48) == pytest.approx(len(tokenizer), rel=0.5)


def test_classifier_save_load_and_config_validation(tmp_path):
    model = build_classifier(ClassifierConfig(8, 3, [16]), seed=0)
    model.save_pretrained(tmp_path)
    assert sorted(file_digests(tmp_path)) == ["config.json", "model.safetensors"]
    loaded = MLPClassifier.from_pretrained(tmp_path)
    features = torch.randn(4, 8, generator=torch.Generator().manual_seed(0))
    assert torch.equal(loaded(features), model(features))
    assert weights_digest(build_classifier(ClassifierConfig(8, 3, [16]), seed=1)) != weights_digest(model)
    with pytest.raises(Exception, match="invalid classifier config"):
        ClassifierConfig(8, 1, [16])


def test_weights_digest_changes_with_one_bit():
    state = {"a": torch.zeros(3), "b": torch.ones(2, 2)}
    flipped = {"a": torch.tensor([0.0, 0.0, 1e-45]), "b": torch.ones(2, 2)}  # smallest subnormal
    assert weights_digest(state) != weights_digest(flipped)
    assert tensor_digests(state)["b"] == tensor_digests(flipped)["b"]


def _round_trip(store, tokenizer, tmp_path):
    model = build_causal_lm(lm_config("tiny", tokenizer=tokenizer), seed=9)
    source = tmp_path / "source"
    model.save_pretrained(str(source))
    tokenizer.save_pretrained(str(source))
    artifact = upload_dir(store, "artifacts/lm-1", source, weights_digest=weights_digest(model))
    assert {"model.safetensors", "config.json", "tokenizer.json"} <= set(artifact.files)
    local = download_dir(store, artifact, tmp_path / "copy")
    loaded = load_causal_lm(local)
    assert weights_digest(loaded) == artifact.weights_digest
    assert load_tokenizer(local).get_vocab() == tokenizer.get_vocab()
    return artifact


def test_artifact_round_trip_local_store(tokenizer, tmp_path):
    _round_trip(LocalObjectStore(tmp_path / "store"), tokenizer, tmp_path)


def test_artifact_round_trip_s3_and_corruption(tokenizer, tmp_path, s3_endpoint, s3_client, s3_bucket):
    store = S3ObjectStore(s3_bucket, "engine", client=s3_client)
    artifact = _round_trip(store, tokenizer, tmp_path)
    key = f"{artifact.prefix}/model.safetensors"
    store.put_bytes(key, store.get_bytes(key)[:-1] + b"\x00")
    with pytest.raises(IntegrityMismatch) as caught:
        download_dir(store, artifact, tmp_path / "bad")
    message = str(caught.value)
    assert "model.safetensors" in message and artifact.files["model.safetensors"] in message
    assert (
        caught.value.details["actual"] in message and caught.value.details["actual"] != caught.value.details["expected"]
    )
    store.delete_permanently(f"{artifact.prefix}/config.json")
    with pytest.raises(ObjectNotFound, match="config.json"):
        download_dir(store, artifact, tmp_path / "missing")
