"""What verification asks of a model, per kind (causal LM or classifier), cached per model and
record set so that every stage and every control reuses the same forward passes."""

from __future__ import annotations

import numpy as np

from erasure_engine.records import Record
from erasure_engine.verification.classifier_statistics import compute_classifier_statistics
from erasure_engine.verification.extraction import extraction_scores
from erasure_engine.verification.knowledge import KnowledgeResult, is_qa_record, knowledge_probe
from erasure_engine.verification.lm_statistics import compute_lm_statistics
from erasure_engine.verification.membership import classifier_membership_scores, lm_membership_scores
from erasure_engine.verification.policy import VerificationPolicy
from erasure_engine.verification.relearning import finetuned_copy

CAUSAL_LM = "causal_lm"
CLASSIFIER = "classifier"


def questions(records: list[Record]) -> list[Record]:
    return [record for record in records if is_qa_record(record)]


class LanguageProbes:
    kind = CAUSAL_LM

    def __init__(self, tokenizer, policy: VerificationPolicy, reference):
        self.tokenizer = tokenizer
        self.policy = policy
        self.reference = reference
        self._cache: dict[tuple, object] = {}

    def _cached(self, key: tuple, compute):
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def statistics(self, model, model_key: str, records: list[Record], set_key: str):
        texts = [record.content["text"] for record in records]
        return self._cached(
            ("statistics", model_key, set_key),
            lambda: compute_lm_statistics(model, self.tokenizer, texts, batch_size=self.policy.batch_size),
        )

    def membership_scores(self, model, model_key, records, set_key) -> dict[str, np.ndarray]:
        stats = self.statistics(model, model_key, records, set_key)
        reference = None
        if self.reference is not None:
            reference = self.statistics(self.reference, "reference", records, set_key)
        return lm_membership_scores(stats, min_k_fraction=self.policy.min_k_fraction, reference=reference)

    def losses(self, model, model_key, records, set_key) -> np.ndarray:
        return self.statistics(model, model_key, records, set_key).losses

    def privleak_scores(self, model, model_key, records, set_key) -> np.ndarray:
        return self.statistics(model, model_key, records, set_key).min_k(self.policy.privleak_min_k_fraction)

    def loss_sums(self, model, model_key, records, set_key) -> tuple[np.ndarray, np.ndarray]:
        """(summed negative log-likelihood, predicted tokens) per record: corpus perplexity of any subset."""
        stats = self.statistics(model, model_key, records, set_key)
        sums = np.array([-float(np.sum(s.log_probs)) for s in stats.token_scores])
        return sums, stats.token_counts.astype(np.float64)

    def extraction(self, model, model_key, records, set_key) -> np.ndarray:
        p = self.policy
        return self._cached(
            ("extraction", model_key, set_key),
            lambda: extraction_scores(
                model,
                self.tokenizer,
                [r.content["text"] for r in records],
                prefix_fraction=p.extraction_prefix_fraction,
                max_new_tokens=p.extraction_max_new_tokens,
                batch_size=p.batch_size,
            ),
        )

    def knowledge(self, model, model_key, records: list[Record], set_key) -> KnowledgeResult | None:
        asked = questions(records)
        if not asked:
            return None
        return self._cached(
            ("knowledge", model_key, set_key),
            lambda: knowledge_probe(model, self.tokenizer, asked, batch_size=self.policy.batch_size),
        )

    def finetune(self, model, records, seed: int):
        p = self.policy
        return finetuned_copy(
            model,
            records,
            tokenizer=self.tokenizer,
            steps=p.relearn_steps,
            learning_rate=p.relearn_learning_rate,
            batch_size=p.relearn_batch_size,
            seed=seed,
        )


class ClassifierProbes:
    kind = CLASSIFIER

    def __init__(self, policy: VerificationPolicy):
        self.policy = policy
        self._cache: dict[tuple[str, str], object] = {}

    def statistics(self, model, model_key, records, set_key):
        key = (model_key, set_key)
        if key not in self._cache:
            self._cache[key] = compute_classifier_statistics(model, records)
        return self._cache[key]

    def membership_scores(self, model, model_key, records, set_key):
        return classifier_membership_scores(self.statistics(model, model_key, records, set_key))

    def losses(self, model, model_key, records, set_key):
        return self.statistics(model, model_key, records, set_key).losses

    def privleak_scores(self, model, model_key, records, set_key):
        # A classifier has no tokens, so PrivLeak uses the loss attack.
        return -self.losses(model, model_key, records, set_key)

    def knowledge(self, model, model_key, records, set_key):
        return None

    def finetune(self, model, records, seed: int):
        p = self.policy
        return finetuned_copy(
            model,
            records,
            steps=p.relearn_steps,
            learning_rate=p.relearn_learning_rate,
            batch_size=p.relearn_batch_size,
            seed=seed,
        )
