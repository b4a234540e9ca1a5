"""Byte-level BPE tokenizers trained here, wrapped for `transformers`.

Byte-level so any text (including subject names the tokenizer never saw) encodes without an
unknown token; callers train it on general, subject-free text so the vocabulary itself holds
nothing that an erasure would have to remove.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from transformers import PreTrainedTokenizerFast

from erasure_engine.errors import InvalidInput, ObjectNotFound
from erasure_engine.models.checkpoints import load_any_tokenizer

END_OF_TEXT = "<|endoftext|>"
PADDING = "<|pad|>"


def train_tokenizer(texts: Iterable[str], *, vocab_size: int = 512) -> PreTrainedTokenizerFast:
    """Train a deterministic byte-level BPE tokenizer (same texts, same vocabulary)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    texts = list(texts)
    if not texts:
        raise InvalidInput("a tokenizer needs at least one training text")
    alphabet = pre_tokenizers.ByteLevel.alphabet()
    if vocab_size < len(alphabet) + 2:
        raise InvalidInput(f"vocab_size must be at least {len(alphabet) + 2} (byte alphabet + specials)")
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[END_OF_TEXT, PADDING],
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, bos_token=END_OF_TEXT, eos_token=END_OF_TEXT, pad_token=PADDING
    )


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json")


def has_tokenizer(directory: str | Path) -> bool:
    return any((Path(directory) / name).is_file() for name in TOKENIZER_FILES)


def load_tokenizer(directory: str | Path):
    """The tokenizer saved in `directory`, of whatever class its files declare (AutoTokenizer),
    with a pad token (end-of-text when it names none)."""
    if not has_tokenizer(directory):
        raise ObjectNotFound(f"no tokenizer.json in {directory}")
    return load_any_tokenizer(directory)
