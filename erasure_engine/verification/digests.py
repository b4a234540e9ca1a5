"""sha256 digests of the data a verdict was computed from (model weights use
`erasure_engine.models.weights_digest`), so anyone can check it reproduces."""

from __future__ import annotations

import hashlib

from erasure_engine.records import Record, canonical_json


def records_digest(records: list[Record]) -> str:
    """sha256 over the records in the order given (order matters: it fixes batches and splits)."""
    digest = hashlib.sha256()
    for record in records:
        digest.update(canonical_json([record.record_id, record.subject_key, record.content_hash]))
        digest.update(b"\n")
    return digest.hexdigest()


def tokenizer_digest(tokenizer) -> str:
    """sha256 of the tokenizer's serialised form (vocabulary, merges, special tokens)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return hashlib.sha256(backend.to_str().encode("utf-8")).hexdigest()
    return hashlib.sha256(canonical_json(sorted(tokenizer.get_vocab().items()))).hexdigest()
