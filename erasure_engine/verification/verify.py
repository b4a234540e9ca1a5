"""verify(): run every attack and probe on a candidate model and on its controls, and judge it.

The candidate is the unlearned model, the parent the model it was unlearned from (the control
that must fail), the oracle (optional) a model retrained without the forget set (the target, and
the control that must pass). Members are the forget records; the holdout holds records about
subjects no model ever saw. Each stage lives in stages.py; the decision rule in decision.py.
"""

from __future__ import annotations

import logging
import math
import platform
from collections.abc import Callable, Sequence

import numpy as np
import torch

import erasure_engine
from erasure_engine.errors import InvalidInput
from erasure_engine.models.artifacts import weights_digest
from erasure_engine.records import Record
from erasure_engine.verification import stages
from erasure_engine.verification.digests import records_digest, tokenizer_digest
from erasure_engine.verification.judge import Judge, subject_count
from erasure_engine.verification.lira import ReferenceModel
from erasure_engine.verification.membership import CLASSIFIER_STATISTICS, LM_STATISTICS
from erasure_engine.verification.policy import VerificationPolicy
from erasure_engine.verification.probes import CAUSAL_LM, CLASSIFIER, ClassifierProbes, LanguageProbes
from erasure_engine.verification.relearning import sample_records
from erasure_engine.verification.verdict import EXACT_BY_CONSTRUCTION, STATISTICAL, Verdict

logger = logging.getLogger(__name__)

Progress = Callable[[float, str], None]


def metric_names(kind: str, policy: VerificationPolicy) -> list[str]:
    """Every metric a verification of this kind can report (used to validate `report_only`)."""
    statistics = (*LM_STATISTICS, "lira") if kind == CAUSAL_LM else (*CLASSIFIER_STATISTICS, "lira")
    suffixes = ("auc", "tpr_at_low_fpr", "subject_auc", "subject_tpr_at_low_fpr")
    names = [f"membership.{s}.{m}" for s in statistics for m in suffixes]
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
        raise InvalidInput(
            "holdout records must be about never-seen subjects, but some subjects also appear in forget/retain"
        )
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


def _check_exact_evidence(evidence) -> dict | None:
    """Exact unlearning's proof: the retrained checkpoints' digests (or, for a deactivated version,
    the shards cut back to an earlier checkpoint of their own) and the shards reused as they were."""
    if evidence is None:
        return None
    changed = isinstance(evidence, dict) and (
        evidence.get("retrained_checkpoints") or evidence.get("deactivated_shards")
    )
    if not changed or "reused_shards" not in evidence:
        raise InvalidInput(
            "exact evidence needs 'retrained_checkpoints' or 'deactivated_shards' (non-empty) and 'reused_shards'"
        )
    return evidence


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
    references: Sequence[ReferenceModel] | None = None,
    general: list[Record] | None = None,
    tokenizer=None,
    policy: VerificationPolicy | dict | None = None,
    seed: int = 0,
    progress: Progress | None = None,
    exact_evidence: dict | None = None,
) -> Verdict:
    """Judge `candidate` against `policy`: passed, failed or inconclusive. Language models need
    `tokenizer`; classifiers take none. `reference` (optional) calibrates the reference-model
    attack; `references` (optional: models with the subjects each trained on, e.g. SISA shards)
    enable the LiRA attack; `general` (optional) is held-out text for general utility, the
    holdout set when absent. `exact_evidence` marks an exact-unlearning result (retrained
    without the data): the verdict then rests on that construction, and every attack is still
    run and reported (a failed one still fails it)."""
    if not isinstance(policy, VerificationPolicy):
        policy = VerificationPolicy.from_dict(policy)
    models = {"candidate": candidate, "parent": parent}
    if oracle is not None:
        models["oracle"] = oracle
    references = list(references or [])
    if any(not isinstance(ref, ReferenceModel) for ref in references):
        raise InvalidInput("references must be ReferenceModel(model, trained_subjects) entries")
    checked = {**models, **({"reference": reference} if reference is not None else {})}
    checked.update({f"lira-reference-{k}": ref.model for k, ref in enumerate(references)})
    kind = _check_inputs(checked, forget, retain, holdout, tokenizer)
    exact_evidence = _check_exact_evidence(exact_evidence)
    unknown = sorted(set(policy.report_only) - set(metric_names(kind, policy)))
    if unknown:
        raise InvalidInput(f"policy report_only names unknown metrics {unknown}")
    if kind == CLASSIFIER and reference is not None:
        raise InvalidInput("the reference-model attack is for language models only")
    general = list(general) if general else list(holdout)
    retain = (
        sample_records(list(retain), policy.max_retain_records, seed)
        if len(retain) > policy.max_retain_records
        else list(retain)
    )
    probes = LanguageProbes(tokenizer, policy, reference) if kind == CAUSAL_LM else ClassifierProbes(policy)
    run = stages.Run(
        kind=kind,
        policy=policy,
        seed=seed,
        models=models,
        forget=list(forget),
        retain=retain,
        holdout=list(holdout),
        general=general,
        probes=probes,
        judge=Judge(policy, seed, subject_count(forget)),
        references=references,
    )
    digests = {role: weights_digest(model) for role, model in models.items()}
    if "oracle" in digests and digests["oracle"] == digests["candidate"]:
        run.aliases["oracle"] = "candidate"
    run.details["sizes"] = {
        "forget": len(forget),
        "retain": len(retain),
        "holdout": len(holdout),
        "general": len(general),
        "forget_subjects": subject_count(forget),
        "holdout_subjects": subject_count(holdout),
    }
    plan = [("membership inference", stages.membership_stage), ("distance to the oracle", stages.oracle_stage)]
    if kind == CAUSAL_LM:
        plan += [("verbatim extraction", stages.extraction_stage), ("knowledge probes", stages.knowledge_stage)]
    plan += [("relearning attacks", stages.relearning_stage)]
    plan += [
        (f"{bits}-bit quantization attack", lambda run, bits=bits: stages.quantization_stage(run, bits))
        for bits in policy.quantization_bits
    ]
    plan += [("utility", stages.utility_stage)]
    steps = _Progress(progress, len(plan))
    for message, stage in plan:
        steps.step(message)
        stage(run)
    steps.finish()

    inputs = {
        "models": digests,
        "datasets": {
            name: {"sha256": records_digest(records), "records": len(records)}
            for name, records in (("forget", forget), ("retain", retain), ("holdout", holdout), ("general", general))
        },
    }
    if references:
        inputs["references"] = [
            {"sha256": weights_digest(ref.model), "trained_subjects": len(ref.trained_subjects)}
            | ({"source": ref.source} if ref.source else {})
            for ref in references
        ]
    if tokenizer is not None:
        inputs["tokenizer"] = tokenizer_digest(tokenizer)
    return Verdict(
        kind=kind,
        seed=seed,
        policy=policy.to_dict(),
        metrics=run.judge.metrics,
        skipped=run.skipped,
        details=_plain(run.details),
        inputs=inputs,
        environment=environment(),
        curves=run.curves,
        basis=EXACT_BY_CONSTRUCTION if exact_evidence is not None else STATISTICAL,
        exact_evidence=exact_evidence,
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
