"""Named verification thresholds. Defaults are documented in docs/metrics.md; a model may
override any of them with a dict or a JSON file, and an unknown key is an error, never ignored."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from erasure_engine.errors import InvalidInput


@dataclass(frozen=True)
class VerificationPolicy:
    # How the attacks run.
    batch_size: int = 16
    low_fpr: float = 0.01  # TPR is reported at this false-positive rate
    min_k_fraction: float = 0.2  # k for the Min-K% and Min-K%++ attacks (Shi et al. recommend 20%)
    privleak_min_k_fraction: float = 0.4  # MUSE fixes Min-K% at k = 40% for PrivLeak
    extraction_prefix_fraction: float = 0.5
    extraction_max_new_tokens: int = 32
    relearn_fraction: float = 0.25  # share of forget subjects the relearning attack trains on
    relearn_steps: int = 10
    relearn_learning_rate: float = 1e-3
    relearn_batch_size: int = 4
    quantization_bits: tuple[int, ...] = (8, 4)
    max_retain_records: int = 1000  # utility and probes on retained data use a seeded sample
    # Thresholds (see docs/metrics.md for the direction and reasoning of each).
    # The decision rule (decision.py): a check fails beyond margin + min(z(confidence) · noise, cap);
    # when the noise would need more than the cap, it is inconclusive.
    confidence: float = 0.95  # one-sided level of every test
    bootstrap_repetitions: int = 200  # subject-level bootstrap that estimates the noise
    auc_tolerance: float = 0.05  # AUC − target allowed, target = oracle's AUC or 0.5
    auc_noise_cap: float = 0.1
    privleak_tolerance: float = 10.0  # |PrivLeak| allowed, in percent
    privleak_noise_cap: float = 20.0
    forget_quality_min_p_value: float = 0.05
    extraction_excess_max: float = 0.1
    knowledge_excess_max: float = 0.1
    retain_knowledge_drop_max: float = 0.05
    retain_perplexity_increase_max: float = 0.05
    general_perplexity_increase_max: float = 0.05
    retain_accuracy_drop_max: float = 0.02
    general_accuracy_drop_max: float = 0.02
    excess_noise_cap: float = 0.1  # extraction and knowledge excesses
    utility_noise_cap: float = 0.05  # utility losses beyond the oracle's
    report_only: tuple[str, ...] = field(default_factory=tuple)  # metric names that never gate

    def __post_init__(self):
        if not 0.5 <= self.confidence < 1.0:
            raise InvalidInput(f"policy confidence must lie in [0.5, 1), got {self.confidence}")
        fractions = (
            "low_fpr",
            "min_k_fraction",
            "privleak_min_k_fraction",
            "extraction_prefix_fraction",
            "relearn_fraction",
        )
        for name in fractions:
            value = getattr(self, name)
            if not 0.0 < value < 1.0 and not (name.endswith("k_fraction") and value == 1.0):
                raise InvalidInput(f"policy {name} must lie in (0, 1), got {value}")
        for name in ("batch_size", "extraction_max_new_tokens", "relearn_batch_size", "max_retain_records"):
            if getattr(self, name) < 1:
                raise InvalidInput(f"policy {name} must be at least 1")
        if self.bootstrap_repetitions < 2:
            raise InvalidInput("policy bootstrap_repetitions must be at least 2")
        if self.relearn_steps < 0 or self.relearn_learning_rate < 0:
            raise InvalidInput("policy relearn_steps and relearn_learning_rate must not be negative")
        caps = ("auc_noise_cap", "privleak_noise_cap", "excess_noise_cap", "utility_noise_cap")
        if any(getattr(self, name) < 0 for name in caps):
            raise InvalidInput(f"policy {', '.join(caps)} must not be negative")
        if any(bits not in range(2, 17) for bits in self.quantization_bits):
            raise InvalidInput(f"policy quantization_bits must each lie in 2..16, got {list(self.quantization_bits)}")

    @classmethod
    def from_dict(cls, overrides: dict | None) -> VerificationPolicy:
        overrides = dict(overrides or {})
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(overrides) - set(known))
        if unknown:
            raise InvalidInput(f"unknown verification policy keys {unknown}; known keys: {sorted(known)}")
        values = {}
        defaults = cls()
        for name, value in overrides.items():
            default = getattr(defaults, name)
            if isinstance(default, tuple):
                if not isinstance(value, (list, tuple)):
                    raise InvalidInput(f"policy {name} must be a list, got {value!r}")
                values[name] = tuple(value)
            elif isinstance(default, bool) or not isinstance(value, (int, float)) or isinstance(value, bool):
                raise InvalidInput(f"policy {name} must be a number, got {value!r}")
            elif isinstance(default, int) and not isinstance(default, bool):
                if int(value) != value:
                    raise InvalidInput(f"policy {name} must be an integer, got {value!r}")
                values[name] = int(value)
            else:
                values[name] = float(value)
        return cls(**values)

    @classmethod
    def from_json_file(cls, path: str | Path) -> VerificationPolicy:
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InvalidInput(f"policy file {path} does not exist") from None
        except ValueError as error:
            raise InvalidInput(f"policy file {path} is not valid JSON ({error})") from None
        if not isinstance(data, dict):
            raise InvalidInput(f"policy file {path} must hold a JSON object")
        return cls.from_dict(data)

    def to_dict(self) -> dict:
        return {name: list(value) if isinstance(value, tuple) else value for name, value in asdict(self).items()}
