"""verify(): run every attack and probe on a candidate model and judge it against a policy.

The candidate is the unlearned model, the parent the model it was unlearned from, the oracle
(optional) a model retrained without the forget set. Members are the forget records; the
holdout holds records about subjects no model ever saw.
"""

from __future__ import annotations

import logging
import math
import platform
from collections.abc import Callable

import numpy as np
import torch

import erasure_engine
from erasure_engine.errors import InvalidInput
from erasure_engine.records import Record
from erasure_engine.verification.classifier_statistics import compute_classifier_statistics
from erasure_engine.models.artifacts import weights_digest
from erasure_engine.verification.digests import records_digest, tokenizer_digest
from erasure_engine.verification.extraction import extraction_scores
from erasure_engine.verification.knowledge import KnowledgeResult, is_qa_record, knowledge_probe
from erasure_engine.verification.lm_statistics import compute_lm_statistics
from erasure_engine.verification.membership import (
    CLASSIFIER_STATISTICS,
    LM_STATISTICS,
    classifier_membership_scores,
    lm_membership_scores,
    membership_attack,
)
from erasure_engine.verification.metrics import cluster_bootstrap_std, ks_two_sample, privleak, roc_auc
from erasure_engine.verification.policy import VerificationPolicy
from erasure_engine.verification.quantization import quantized_copy
from erasure_engine.verification.relearning import finetuned_copy, sample_records, split_by_subject
from erasure_engine.verification.verdict import (
    CLOSER_TO_TARGET,
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    MetricResult,
    Verdict,
)

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]
CAUSAL_LM = "causal_lm"
CLASSIFIER = "classifier"


def metric_names(kind: str, policy: VerificationPolicy) -> list[str]:
    """Every metric a verification of this kind can report (used to validate `report_only`)."""
    statistics = LM_STATISTICS if kind == CAUSAL_LM else CLASSIFIER_STATISTICS
    names = [f"membership.{s}.{m}" for s in statistics for m in ("auc", "tpr_at_low_fpr")]
    names += ["oracle.forget_quality", "oracle.privleak"]
    attacks = ["relearn_forget", "relearn_retain"] + [f"quantized_{bits}bit" for bits in policy.quantization_bits]
    names += [f"{attack}.membership_auc" for attack in attacks]
    if kind == CAUSAL_LM:
        names += ["extraction.rouge_l_excess", "knowledge.accuracy_excess", "knowledge.answer_probability_excess"]
        names += [f"{attack}.knowledge_accuracy_excess" for attack in attacks]
        names += ["utility.retain_perplexity_increase", "utility.general_perplexity_increase"]
        names += ["utility.retain_knowledge_drop"]
    else:
        names += ["utility.retain_accuracy_drop", "utility.general_accuracy_drop"]
    return names


class _LanguageProbes:
    kind = CAUSAL_LM

    def __init__(self, tokenizer, policy: VerificationPolicy, reference):
        self.tokenizer = tokenizer
        self.policy = policy
        self.reference = reference
        self._cache: dict[tuple[str, str], object] = {}

    def statistics(self, model, model_key: str, records: list[Record], set_key: str):
        key = (model_key, set_key)
        if key not in self._cache:
            texts = [record.content["text"] for record in records]
            self._cache[key] = compute_lm_statistics(model, self.tokenizer, texts, batch_size=self.policy.batch_size)
        return self._cache[key]

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

    def knowledge(self, model, records: list[Record]) -> KnowledgeResult | None:
        questions = _questions(records)
        if not questions:
            return None
        return knowledge_probe(model, self.tokenizer, questions, batch_size=self.policy.batch_size)

    def finetune(self, model, records, seed: int):
        p = self.policy
        return finetuned_copy(
            model, records, tokenizer=self.tokenizer, steps=p.relearn_steps,
            learning_rate=p.relearn_learning_rate, batch_size=p.relearn_batch_size, seed=seed,
        )


class _ClassifierProbes:
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

    def knowledge(self, model, records):
        return None

    def finetune(self, model, records, seed: int):
        p = self.policy
        return finetuned_copy(
            model, records, steps=p.relearn_steps, learning_rate=p.relearn_learning_rate,
            batch_size=p.relearn_batch_size, seed=seed,
        )


def _vocab_size(model) -> int | None:
    if hasattr(model, "get_input_embeddings"):
        return int(model.get_input_embeddings().num_embeddings)
    return None


def _check_inputs(models: dict, forget, retain, holdout, tokenizer) -> str:
    for name, records in (("forget", forget), ("retain", retain), ("holdout", holdout)):
        if not records:
            raise InvalidInput(f"the {name} set is empty: verification needs {name} records")
    holdout_subjects = {r.subject_key for r in holdout if r.subject_key}
    trained_subjects = {r.subject_key for r in (*forget, *retain) if r.subject_key}
    if holdout_subjects & trained_subjects:
        raise InvalidInput("holdout records must be about never-seen subjects, but some subjects also appear in forget/retain")
    holdout_ids = {r.record_id for r in holdout}
    if holdout_ids & {r.record_id for r in (*forget, *retain)}:
        raise InvalidInput("holdout records must never have been trained on, but some are in forget/retain")
    is_lm = any(_vocab_size(model) is not None for model in models.values())
    if is_lm and tokenizer is None:
        raise InvalidInput("verifying a causal language model needs its tokenizer")
    if not is_lm:
        if tokenizer is not None:
            raise InvalidInput("a tokenizer was given but the models are not language models")
        return CLASSIFIER
    sizes = {role: _vocab_size(model) for role, model in models.items()}
    if len(set(sizes.values())) != 1:
        raise InvalidInput(f"tokenizer mismatch: the models' vocabulary sizes differ {sizes}")
    if len(tokenizer) > next(iter(sizes.values())):
        raise InvalidInput(
            f"tokenizer mismatch: the tokenizer has {len(tokenizer)} tokens but the models only {next(iter(sizes.values()))}"
        )
    for role, records in (("forget", forget), ("retain", retain), ("holdout", holdout)):
        if any(not isinstance(r.content.get("text"), str) for r in records):
            raise InvalidInput(f"every {role} record of a language model needs content 'text'")
    return CAUSAL_LM


def environment() -> dict:
    import scipy
    import transformers

    return {
        "erasure_engine": erasure_engine.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "scipy": scipy.__version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
    }


def _float(value) -> float:
    return float(value)


def _questions(records: list[Record]) -> list[Record]:
    return [record for record in records if is_qa_record(record)]


def _clusters(records: list[Record]) -> np.ndarray:
    """One sampling unit per data subject (a record without a subject is its own unit)."""
    return np.array([record.subject_key or record.record_id for record in records])


class _Judge:
    """Collects metrics, turning each policy threshold into a pass/fail rule. Tolerances widen
    to `noise_sigmas` subject-level bootstrap standard errors, so small sets do not fail by chance."""

    def __init__(self, policy: VerificationPolicy, seed: int):
        self.policy = policy
        self.seed = seed
        self.metrics: list[MetricResult] = []

    def add(self, name, value, direction, policy_threshold, *, noise=0.0, target=None, report_only=False) -> None:
        noise = _float(noise) if policy_threshold is not None else 0.0
        threshold = None if policy_threshold is None or report_only else max(float(policy_threshold), noise)
        self.metrics.append(
            MetricResult(
                name=name,
                value=_float(value),
                direction=direction,
                threshold=threshold,
                policy_threshold=None if report_only else policy_threshold,
                noise_allowance=noise,
                target=None if target is None else _float(target),
                gating=name not in self.policy.report_only and not report_only,
            )
        )

    def noise(self, statistic, first: list[Record], second: list[Record]) -> float:
        return self.policy.noise_sigmas * cluster_bootstrap_std(
            statistic, _clusters(first), _clusters(second),
            repetitions=self.policy.bootstrap_repetitions, seed=self.seed,
        )

    def auc(self, name, members: list[Record], nonmembers: list[Record], member_scores: dict, nonmember_scores: dict) -> tuple[float, float]:
        """Candidate's AUC against the oracle's (same attack, same records) or 0.5 without one.
        The noise is that of the difference, resampling the same subjects for both models."""
        candidate_m, candidate_n = member_scores["candidate"], nonmember_scores["candidate"]
        value = roc_auc(candidate_m, candidate_n)
        if "oracle" in member_scores:
            oracle_m, oracle_n = member_scores["oracle"], nonmember_scores["oracle"]
            target = roc_auc(oracle_m, oracle_n)

            def statistic(i, j):
                return roc_auc(candidate_m[i], candidate_n[j]) - roc_auc(oracle_m[i], oracle_n[j])
        else:
            target = 0.5

            def statistic(i, j):
                return roc_auc(candidate_m[i], candidate_n[j])
        noise = self.noise(statistic, members, nonmembers)
        self.add(name, value, CLOSER_TO_TARGET, self.policy.auc_tolerance, noise=noise, target=target)
        return value, target

    def excess(self, name, first_records, second_records, first: np.ndarray, second: np.ndarray, policy_threshold) -> float:
        """mean(first) − mean(second), allowed up to the threshold or its sampling noise."""
        value = float(np.mean(first) - np.mean(second))
        noise = self.noise(lambda i, j: float(np.mean(first[i]) - np.mean(second[j])), first_records, second_records)
        self.add(name, value, LOWER_IS_BETTER, policy_threshold, noise=noise)
        return value


class _Progress:
    def __init__(self, callback: Progress | None, total: int):
        self.callback, self.total, self.done = callback, total, 0

    def step(self, message: str) -> None:
        logger.info("verification: %s", message)
        if self.callback is not None:
            self.callback(min(self.done / self.total, 1.0), message)
        self.done += 1

    def finish(self) -> None:
        if self.callback is not None:
            self.callback(1.0, "verification finished")


def verify(
    candidate: torch.nn.Module,
    parent: torch.nn.Module,
    forget: list[Record],
    retain: list[Record],
    holdout: list[Record],
    *,
    oracle: torch.nn.Module | None = None,
    reference: torch.nn.Module | None = None,
    general: list[Record] | None = None,
    tokenizer=None,
    policy: VerificationPolicy | dict | None = None,
    seed: int = 0,
    progress: Progress | None = None,
) -> Verdict:
    """Judge `candidate` against `policy`. Language models need `tokenizer`; classifiers take
    none. `reference` (optional) calibrates the reference-model attack; `general` (optional)
    is held-out text for general utility, the holdout set when absent."""
    if not isinstance(policy, VerificationPolicy):
        policy = VerificationPolicy.from_dict(policy)
    models = {"candidate": candidate, "parent": parent}
    if oracle is not None:
        models["oracle"] = oracle
    if reference is not None:
        models["reference"] = reference
    kind = _check_inputs(models, forget, retain, holdout, tokenizer)
    unknown = sorted(set(policy.report_only) - set(metric_names(kind, policy)))
    if unknown:
        raise InvalidInput(f"policy report_only names unknown metrics {unknown}")
    if kind == CLASSIFIER and reference is not None:
        raise InvalidInput("the reference-model attack is for language models only")
    general = list(general) if general else list(holdout)
    retain = sample_records(list(retain), policy.max_retain_records, seed) if len(retain) > policy.max_retain_records else list(retain)
    probes = _LanguageProbes(tokenizer, policy, reference) if kind == CAUSAL_LM else _ClassifierProbes(policy)
    judge = _Judge(policy, seed)
    roles = [role for role in ("candidate", "parent", "oracle") if role in models]
    details: dict = {"sizes": {"forget": len(forget), "retain": len(retain), "holdout": len(holdout), "general": len(general)}}
    skipped: dict[str, str] = {}
    curves: dict = {"membership_roc": {}, "losses": {}}
    stages = 5 + len(policy.quantization_bits) + (kind == CAUSAL_LM) * 2
    steps = _Progress(progress, stages)

    # Membership inference on forget (members) vs holdout (never seen).
    steps.step("membership inference")
    attacks: dict[str, dict] = {}
    member_scores: dict[str, dict] = {}
    nonmember_scores: dict[str, dict] = {}
    for role in roles:
        member = member_scores[role] = probes.membership_scores(models[role], role, forget, "forget")
        nonmember = nonmember_scores[role] = probes.membership_scores(models[role], role, holdout, "holdout")
        attacks[role] = {s: membership_attack(member[s], nonmember[s], low_fpr=policy.low_fpr) for s in member}
        curves["membership_roc"][role] = attacks[role]["loss"].roc
        curves["losses"][role] = {
            "forget": probes.losses(models[role], role, forget, "forget"),
            "holdout": probes.losses(models[role], role, holdout, "holdout"),
        }
    if kind == CAUSAL_LM and reference is None:
        skipped["membership.reference"] = "no reference model given"
    details["membership"] = {
        statistic: {role: attacks[role][statistic].to_json() for role in roles} for statistic in attacks["candidate"]
    }
    for statistic, result in attacks["candidate"].items():
        judge.auc(
            f"membership.{statistic}.auc", forget, holdout,
            {role: member_scores[role][statistic] for role in roles if role != "parent"},
            {role: nonmember_scores[role][statistic] for role in roles if role != "parent"},
        )
        judge.add(f"membership.{statistic}.tpr_at_low_fpr", result.tpr_at_low_fpr, LOWER_IS_BETTER, None, report_only=True)

    # Distance to the retrained oracle.
    steps.step("distance to the oracle")
    if oracle is None:
        skipped["oracle"] = "no oracle (retrained) model given"
    else:
        ks = ks_two_sample(
            probes.losses(candidate, "candidate", forget, "forget"), probes.losses(oracle, "oracle", forget, "forget")
        )
        judge.add("oracle.forget_quality", ks.p_value, HIGHER_IS_BETTER, policy.forget_quality_min_p_value)
        scores = {
            (role, name): probes.privleak_scores(models[role], role, records, name)
            for role in ("candidate", "oracle")
            for name, records in (("forget", forget), ("holdout", holdout))
        }

        def auc_gap(i=slice(None), j=slice(None)) -> float:
            return roc_auc(scores["candidate", "forget"][i], scores["candidate", "holdout"][j]) - roc_auc(
                scores["oracle", "forget"][i], scores["oracle", "holdout"][j]
            )

        auc_candidate = roc_auc(scores["candidate", "forget"], scores["candidate", "holdout"])
        auc_oracle = roc_auc(scores["oracle", "forget"], scores["oracle", "holdout"])
        # Noise of the AUC gap, in PrivLeak's units (the oracle AUC taken as fixed: a ratio's
        # bootstrap is unstable when the oracle AUC itself wanders on few subjects).
        noise = judge.noise(auc_gap, forget, holdout) * 100.0 / auc_oracle
        leak = privleak(auc_candidate, auc_oracle)
        judge.add("oracle.privleak", leak, CLOSER_TO_TARGET, policy.privleak_tolerance, noise=noise, target=0.0)
        details["oracle"] = {
            "ks_statistic": ks.statistic,
            "ks_p_value": ks.p_value,
            "privleak_auc_candidate": auc_candidate,
            "privleak_auc_oracle": auc_oracle,
        }

    if kind == CAUSAL_LM:
        steps.step("verbatim extraction")
        extraction = {}
        for role in ("candidate", "parent"):
            extraction[role] = {
                name: extraction_scores(
                    models[role], tokenizer, [r.content["text"] for r in records],
                    prefix_fraction=policy.extraction_prefix_fraction,
                    max_new_tokens=policy.extraction_max_new_tokens, batch_size=policy.batch_size,
                )
                for name, records in (("forget", forget), ("holdout", holdout))
            }
        judge.excess(
            "extraction.rouge_l_excess", forget, holdout, extraction["candidate"]["forget"],
            extraction["candidate"]["holdout"], policy.extraction_excess_max,
        )
        details["extraction"] = {
            role: {name: float(np.mean(values)) for name, values in sets.items()} for role, sets in extraction.items()
        }

        steps.step("knowledge probes")
        knowledge = {
            role: {name: probes.knowledge(models[role], records) for name, records in (("forget", forget), ("holdout", holdout))}
            for role in ("candidate", "parent")
        }
        if knowledge["candidate"]["forget"] is None or knowledge["candidate"]["holdout"] is None:
            skipped["knowledge"] = "forget or holdout set holds no question-answer records"
        else:
            kc = knowledge["candidate"]
            forget_qa, holdout_qa = _questions(forget), _questions(holdout)
            judge.excess(
                "knowledge.accuracy_excess", forget_qa, holdout_qa, kc["forget"].greedy_matches,
                kc["holdout"].greedy_matches, policy.knowledge_excess_max,
            )
            judge.excess(
                "knowledge.answer_probability_excess", forget_qa, holdout_qa, kc["forget"].answer_probabilities,
                kc["holdout"].answer_probabilities, policy.knowledge_excess_max,
            )
            details["knowledge"] = {
                role: {
                    name: {"accuracy": result.accuracy, "answer_probability": result.mean_answer_probability}
                    for name, result in sets.items()
                }
                for role, sets in knowledge.items()
            }

    def attacked_probe(prefix: str, attacked: dict, members: list[Record], member_key: str) -> None:
        """Membership AUC (loss attack) and knowledge excess of an attacked candidate, against the
        same attack on the oracle when there is one."""
        member_scores = {role: -probes.losses(model, f"{prefix}:{role}", members, member_key) for role, model in attacked.items()}
        nonmember_scores = {role: -probes.losses(model, f"{prefix}:{role}", holdout, "holdout") for role, model in attacked.items()}
        value, target = judge.auc(f"{prefix}.membership_auc", members, holdout, member_scores, nonmember_scores)
        entry = {"membership_auc_candidate": value, "membership_auc_target": target}
        member_knowledge = probes.knowledge(attacked["candidate"], members)
        holdout_knowledge = probes.knowledge(attacked["candidate"], holdout)
        if member_knowledge is not None and holdout_knowledge is not None:
            entry["knowledge_accuracy"] = member_knowledge.accuracy
            judge.excess(
                f"{prefix}.knowledge_accuracy_excess", _questions(members), _questions(holdout),
                member_knowledge.greedy_matches, holdout_knowledge.greedy_matches, policy.knowledge_excess_max,
            )
        details.setdefault("attacks", {})[prefix] = entry

    steps.step("relearning attack on forget data")
    if len(forget) < 2 or policy.relearn_steps == 0:
        skipped["relearn_forget"] = "needs at least 2 forget records and relearn_steps > 0"
        skipped["relearn_retain"] = skipped["relearn_forget"]
    else:
        attack_set, evaluation_set = split_by_subject(forget, policy.relearn_fraction, seed)
        attacked = {role: probes.finetune(models[role], attack_set, seed) for role in roles if role != "parent"}
        attacked_probe("relearn_forget", attacked, evaluation_set, "forget_evaluation")
        details["attacks"]["relearn_forget"]["attack_records"] = len(attack_set)
        steps.step("relearning attack on retained data only")
        benign = sample_records(retain, len(attack_set), seed)
        attacked = {role: probes.finetune(models[role], benign, seed) for role in roles if role != "parent"}
        attacked_probe("relearn_retain", attacked, forget, "forget")
        details["attacks"]["relearn_retain"]["attack_records"] = len(benign)

    for bits in policy.quantization_bits:
        steps.step(f"{bits}-bit quantization attack")
        attacked = {role: quantized_copy(models[role], bits) for role in roles if role != "parent"}
        attacked_probe(f"quantized_{bits}bit", attacked, forget, "forget")

    steps.step("utility")
    if kind == CAUSAL_LM:
        utility = {}
        for name, records in (("retain", retain), ("general", general)):
            losses = {role: probes.statistics(models[role], role, records, name).corpus_loss() for role in ("candidate", "parent")}
            increase = math.exp(losses["candidate"] - losses["parent"]) - 1.0
            threshold = policy.retain_perplexity_increase_max if name == "retain" else policy.general_perplexity_increase_max
            judge.add(f"utility.{name}_perplexity_increase", increase, LOWER_IS_BETTER, threshold)
            utility[name] = {f"perplexity_{role}": math.exp(loss) for role, loss in losses.items()}
        retain_knowledge = {role: probes.knowledge(models[role], retain) for role in ("candidate", "parent")}
        if retain_knowledge["candidate"] is None:
            skipped["utility.retain_knowledge_drop"] = "retain set holds no question-answer records"
        else:
            drops = retain_knowledge["parent"].greedy_matches - retain_knowledge["candidate"].greedy_matches
            retain_qa = _questions(retain)
            # Paired: both models answer the same questions, so resample subjects once for both.
            noise = judge.noise(lambda i, j: float(np.mean(drops[i])), retain_qa, retain_qa)
            judge.add("utility.retain_knowledge_drop", float(np.mean(drops)), LOWER_IS_BETTER, policy.retain_knowledge_drop_max, noise=noise)
            utility["retain"].update({f"knowledge_accuracy_{r}": k.accuracy for r, k in retain_knowledge.items()})
    else:
        utility = {}
        for name, records in (("retain", retain), ("general", general)):
            accuracy = {role: probes.statistics(models[role], role, records, name).accuracy for role in ("candidate", "parent")}
            threshold = policy.retain_accuracy_drop_max if name == "retain" else policy.general_accuracy_drop_max
            judge.add(f"utility.{name}_accuracy_drop", accuracy["parent"] - accuracy["candidate"], LOWER_IS_BETTER, threshold)
            utility[name] = {f"accuracy_{role}": value for role, value in accuracy.items()}
    details["utility"] = utility
    steps.finish()

    inputs = {
        "models": {role: weights_digest(model) for role, model in models.items()},
        "datasets": {
            name: {"sha256": records_digest(records), "records": len(records)}
            for name, records in (("forget", forget), ("retain", retain), ("holdout", holdout), ("general", general))
        },
    }
    if tokenizer is not None:
        inputs["tokenizer"] = tokenizer_digest(tokenizer)
    return Verdict(
        kind=kind,
        seed=seed,
        policy=policy.to_dict(),
        metrics=judge.metrics,
        skipped=skipped,
        details=_plain(details),
        inputs=inputs,
        environment=environment(),
        curves=curves,
    )


def _plain(value):
    """numpy scalars → Python floats/ints so the verdict serialises canonically."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, np.integer):
        return int(value)
    return value
