"""SISA training settings: everything that, with the data and the seed, fixes the weights."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from erasure_engine.errors import InvalidInput

MODEL_KINDS = ("lm", "lm-lora", "classifier")


@dataclass(frozen=True)
class SisaConfig:
    """`epochs` are per slice step. Slice j of a shard trains on slices 0..j together
    (cumulative, as in SISA), continuing from the checkpoint after slice j-1."""

    kind: str = "classifier"
    size: str = "tiny"
    epochs: int = 1
    batch_size: int = 16
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    seed: int = 0
    max_length: int = 64  # LM tokens per record
    vocab_size: int = 512  # LM tokenizer
    lora_rank: int = 4
    lora_alpha: int = 8
    base_epochs: int = 2  # lm-lora: epochs of general text for the frozen base
    model_overrides: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.kind not in MODEL_KINDS:
            raise InvalidInput(f"unknown model kind {self.kind!r}; choose one of {list(MODEL_KINDS)}")
        if self.epochs < 1 or self.batch_size < 1 or self.learning_rate <= 0:
            raise InvalidInput("epochs and batch_size must be >= 1 and learning_rate > 0")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> SisaConfig:
        known = {name for name in cls.__dataclass_fields__}
        unknown = set(data) - known
        if unknown:
            raise InvalidInput(f"unknown SISA config fields {sorted(unknown)}")
        return cls(**data)
