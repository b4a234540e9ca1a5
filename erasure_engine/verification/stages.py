"""One function per verification stage. Each runs its attack or probe on the candidate and on the
controls (parent; oracle when given), hands the numbers to the judge, and records its details."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch

from erasure_engine.records import Record
from erasure_engine.verification.decision import p_value_decision
from erasure_engine.verification.judge import Judge, subject_count
from erasure_engine.verification.lira import ReferenceModel, lira_scores, out_mask
from erasure_engine.verification.membership import membership_attack
from erasure_engine.verification.metrics import ks_two_sample, privleak, roc_auc, subject_means, tpr_at_fpr
from erasure_engine.verification.policy import VerificationPolicy
from erasure_engine.verification.probes import CAUSAL_LM, questions
from erasure_engine.verification.quantization import quantized_copy
from erasure_engine.verification.relearning import sample_records, split_by_subject
from erasure_engine.verification.verdict import HIGHER_IS_BETTER


@dataclass
class Run:
    """Everything the stages share."""

    kind: str
    policy: VerificationPolicy
    seed: int
    models: dict[str, torch.nn.Module]  # candidate, parent, oracle (when given)
    forget: list[Record]
    retain: list[Record]
    holdout: list[Record]
    general: list[Record]
    probes: object
    judge: Judge
    references: list[ReferenceModel] = field(default_factory=list)
    details: dict = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    curves: dict = field(default_factory=lambda: {"membership_roc": {}, "losses": {}})

    @property
    def roles(self) -> list[str]:
        return [role for role in ("candidate", "parent", "oracle") if role in self.models]

    aliases: dict[str, str] = field(default_factory=dict)  # role -> role with identical weights

    @property
    def target(self) -> str:
        return "oracle" if "oracle" in self.models else "chance"

    def key(self, role: str) -> str:
        """Cache key of a role's results: an oracle with the candidate's very weights (exact
        unlearning is its own oracle) reuses the candidate's forward passes instead of repeating them."""
        return self.aliases.get(role, role)

    def per_model(self, make) -> dict[str, torch.nn.Module]:
        """make(model) once per distinct model, then one entry per role."""
        made: dict[str, torch.nn.Module] = {}
        for role in self.roles:
            if self.key(role) not in made:
                made[self.key(role)] = make(self.models[role])
        return {role: made[self.key(role)] for role in self.roles}


def _auc_statistic(member: dict[str, np.ndarray], nonmember: dict[str, np.ndarray]):
    def statistic(role, i, j) -> float:
        return roc_auc(member[role][i], nonmember[role][j])

    return statistic


def _lira(run: Run, role: str, records: list[Record], set_key: str) -> np.ndarray:
    reference = np.stack(
        [-run.probes.losses(ref.model, f"lira-reference-{k}", records, set_key) for k, ref in enumerate(run.references)]
    )
    target = -run.probes.losses(run.models[role], run.key(role), records, set_key)
    return lira_scores(target, reference, out_mask(run.references, records))


def membership_stage(run: Run) -> None:
    """Membership inference on forget (members) vs holdout (never seen), record- and subject-level."""
    p, probes = run.policy, run.probes
    member_scores, nonmember_scores, attacks = {}, {}, {}
    for role in run.roles:
        model = run.models[role]
        member_scores[role] = dict(probes.membership_scores(model, run.key(role), run.forget, "forget"))
        nonmember_scores[role] = dict(probes.membership_scores(model, run.key(role), run.holdout, "holdout"))
        if run.references:
            member_scores[role]["lira"] = _lira(run, role, run.forget, "forget")
            nonmember_scores[role]["lira"] = _lira(run, role, run.holdout, "holdout")
        attacks[role] = {
            s: membership_attack(member_scores[role][s], nonmember_scores[role][s], low_fpr=p.low_fpr)
            for s in member_scores[role]
        }
        run.curves["membership_roc"][role] = attacks[role]["loss"].roc
        run.curves["losses"][role] = {
            "forget": probes.losses(model, run.key(role), run.forget, "forget"),
            "holdout": probes.losses(model, run.key(role), run.holdout, "holdout"),
        }
    if run.kind == CAUSAL_LM and probes.reference is None:
        run.skipped["membership.reference"] = "no reference model given"
    if not run.references:
        run.skipped["membership.lira"] = "no reference models (e.g. SISA shards that never saw the subjects) given"
    forget_subjects = [r.subject_key or r.record_id for r in run.forget]
    holdout_subjects = [r.subject_key or r.record_id for r in run.holdout]
    subject_level = {}
    for statistic in attacks["candidate"]:
        member = {role: member_scores[role][statistic] for role in run.roles}
        nonmember = {role: nonmember_scores[role][statistic] for role in run.roles}
        run.judge.gate(
            f"membership.{statistic}.auc",
            _auc_statistic(member, nonmember),
            run.roles,
            run.forget,
            run.holdout,
            baseline=0.5,
            margin=p.auc_tolerance,
            cap=p.auc_noise_cap,
        )
        run.judge.report(f"membership.{statistic}.tpr_at_low_fpr", attacks["candidate"][statistic].tpr_at_low_fpr)
        subject_level[statistic] = {}
        for role in run.roles:
            members, _ = subject_means(member[role], forget_subjects)
            nonmembers, _ = subject_means(nonmember[role], holdout_subjects)
            subject_level[statistic][role] = {
                "auc": roc_auc(members, nonmembers),
                "tpr_at_low_fpr": tpr_at_fpr(members, nonmembers, p.low_fpr),
            }
        run.judge.report(f"membership.{statistic}.subject_auc", subject_level[statistic]["candidate"]["auc"])
        run.judge.report(
            f"membership.{statistic}.subject_tpr_at_low_fpr", subject_level[statistic]["candidate"]["tpr_at_low_fpr"]
        )
    run.details["membership"] = {
        s: {role: attacks[role][s].to_json() for role in run.roles} for s in attacks["candidate"]
    }
    run.details["membership_subject_level"] = subject_level


def oracle_stage(run: Run) -> None:
    """Distance to the retrained oracle: KS forget quality and PrivLeak, the parent as control."""
    if "oracle" not in run.models:
        run.skipped["oracle"] = "no oracle (retrained) model given"
        return
    p, probes, forget, holdout = run.policy, run.probes, run.forget, run.holdout
    losses = {role: probes.losses(run.models[role], run.key(role), forget, "forget") for role in run.roles}
    ks = {role: ks_two_sample(losses[role], losses["oracle"]) for role in run.roles}
    decisions = {role: p_value_decision(ks[role].p_value, minimum=p.forget_quality_min_p_value) for role in run.roles}
    run.judge.decided(
        "oracle.forget_quality",
        ks["candidate"].p_value,
        HIGHER_IS_BETTER,
        p.forget_quality_min_p_value,
        decisions["candidate"],
        parent=decisions["parent"],
        oracle=decisions["oracle"],
        target="oracle",
    )
    scores = {
        (role, name): probes.privleak_scores(run.models[role], run.key(role), records, name)
        for role in run.roles
        for name, records in (("forget", forget), ("holdout", holdout))
    }
    member = {role: scores[role, "forget"] for role in run.roles}
    nonmember = {role: scores[role, "holdout"] for role in run.roles}
    auc = {role: roc_auc(member[role], nonmember[role]) for role in run.roles}
    # PrivLeak = 100·(AUC − AUC_oracle)/AUC_oracle; the oracle's AUC is held fixed as the unit
    # (a ratio's bootstrap is unstable when the oracle AUC itself wanders on few subjects).
    run.judge.gate(
        "oracle.privleak",
        _auc_statistic(member, nonmember),
        run.roles,
        forget,
        holdout,
        baseline=0.5,
        margin=p.privleak_tolerance,
        cap=p.privleak_noise_cap,
        two_sided=True,
        scale=100.0 / auc["oracle"],
        value_is_distance=True,
    )
    run.details["oracle"] = {
        "ks_statistic": ks["candidate"].statistic,
        "ks_p_value": ks["candidate"].p_value,
        "ks_p_value_parent": ks["parent"].p_value,
        "privleak_auc_candidate": auc["candidate"],
        "privleak_auc_oracle": auc["oracle"],
        "privleak_parent": privleak(auc["parent"], auc["oracle"]),
    }


def _excess_statistic(first: dict[str, np.ndarray], second: dict[str, np.ndarray]):
    """mean over the first set − mean over the second, per role."""

    def statistic(role, i, j) -> float:
        return float(np.mean(first[role][i]) - np.mean(second[role][j]))

    return statistic


def extraction_stage(run: Run) -> None:
    """Verbatim extraction: ROUGE-L of greedy continuations, forget minus holdout, against the oracle's."""
    forget_scores = {
        role: run.probes.extraction(run.models[role], run.key(role), run.forget, "forget") for role in run.roles
    }
    holdout_scores = {
        role: run.probes.extraction(run.models[role], run.key(role), run.holdout, "holdout") for role in run.roles
    }
    run.judge.gate(
        "extraction.rouge_l_excess",
        _excess_statistic(forget_scores, holdout_scores),
        run.roles,
        run.forget,
        run.holdout,
        baseline=0.0,
        margin=run.policy.extraction_excess_max,
        cap=run.policy.excess_noise_cap,
    )
    run.details["extraction"] = {
        role: {"forget": float(np.mean(forget_scores[role])), "holdout": float(np.mean(holdout_scores[role]))}
        for role in run.roles
    }


def knowledge_stage(run: Run) -> None:
    """Question answering about forget subjects beyond never-seen ones, against the oracle's."""
    knowledge = {
        role: {
            name: run.probes.knowledge(run.models[role], run.key(role), records, name)
            for name, records in (("forget", run.forget), ("holdout", run.holdout))
        }
        for role in run.roles
    }
    if knowledge["candidate"]["forget"] is None or knowledge["candidate"]["holdout"] is None:
        run.skipped["knowledge"] = "forget or holdout set holds no question-answer records"
        return
    forget_qa, holdout_qa = questions(run.forget), questions(run.holdout)
    for name, field_name in (("accuracy", "greedy_matches"), ("answer_probability", "answer_probabilities")):
        first = {role: getattr(knowledge[role]["forget"], field_name) for role in run.roles}
        second = {role: getattr(knowledge[role]["holdout"], field_name) for role in run.roles}
        run.judge.gate(
            f"knowledge.{name}_excess",
            _excess_statistic(first, second),
            run.roles,
            forget_qa,
            holdout_qa,
            baseline=0.0,
            margin=run.policy.knowledge_excess_max,
            cap=run.policy.excess_noise_cap,
        )
    run.details["knowledge"] = {
        role: {
            name: {"accuracy": result.accuracy, "answer_probability": result.mean_answer_probability}
            for name, result in sets.items()
        }
        for role, sets in knowledge.items()
    }


def _attacked_probe(run: Run, prefix: str, attacked: dict, members: list[Record], member_key: str) -> dict:
    """Loss-attack membership AUC and knowledge excess of every attacked role, judged against the
    oracle under the same attack; the attacked parent is the power control."""
    p, probes = run.policy, run.probes
    member = {
        role: -probes.losses(model, f"{prefix}:{run.key(role)}", members, member_key)
        for role, model in attacked.items()
    }
    nonmember = {
        role: -probes.losses(model, f"{prefix}:{run.key(role)}", run.holdout, "holdout")
        for role, model in attacked.items()
    }
    roles = list(attacked)
    metric = run.judge.gate(
        f"{prefix}.membership_auc",
        _auc_statistic(member, nonmember),
        roles,
        members,
        run.holdout,
        baseline=0.5,
        margin=p.auc_tolerance,
        cap=p.auc_noise_cap,
    )
    entry = {
        "membership_auc_candidate": metric.value,
        "membership_auc_target": metric.target,
        "membership_auc_parent": roc_auc(member["parent"], nonmember["parent"]),
    }
    member_knowledge = {
        role: probes.knowledge(model, f"{prefix}:{run.key(role)}", members, member_key)
        for role, model in attacked.items()
    }
    holdout_knowledge = {
        role: probes.knowledge(model, f"{prefix}:{run.key(role)}", run.holdout, "holdout")
        for role, model in attacked.items()
    }
    if member_knowledge["candidate"] is not None and holdout_knowledge["candidate"] is not None:
        entry["knowledge_accuracy"] = member_knowledge["candidate"].accuracy
        first = {role: k.greedy_matches for role, k in member_knowledge.items()}
        second = {role: k.greedy_matches for role, k in holdout_knowledge.items()}
        # Power: whether the probe sees the parent's own knowledge (an attack may blunt the parent's
        # answers and the oracle's alike; that says nothing about what the candidate hides).
        parent_knowledge = run.judge.decisions.get("knowledge.accuracy_excess", {}).get("parent")
        run.judge.gate(
            f"{prefix}.knowledge_accuracy_excess",
            _excess_statistic(first, second),
            roles,
            questions(members),
            questions(run.holdout),
            baseline=0.0,
            margin=p.knowledge_excess_max,
            cap=p.excess_noise_cap,
            power=parent_knowledge if parent_knowledge is not None else True,
        )
    run.details.setdefault("attacks", {})[prefix] = entry
    return entry


def relearning_stage(run: Run) -> None:
    """Fine-tune copies on some forget subjects (then probe the others) and on retained data only."""
    p = run.policy
    if p.relearn_steps == 0 or len(run.forget) < 2:
        run.skipped["relearn_forget"] = "needs at least 2 forget records and relearn_steps > 0"
        run.skipped["relearn_retain"] = run.skipped["relearn_forget"]
        return
    if subject_count(run.forget) < 2 and "oracle" not in run.models:
        # Relearning from one subject's records and probing its other records measures what was
        # just taught, unless the oracle under the same attack shows how much teaching alone gives.
        run.judge.inconclusive(
            "relearn_forget.membership_auc",
            p.auc_tolerance,
            "with 1 forget subject and no oracle, relearning cannot tell hidden knowledge from "
            "what the attack itself teaches",
        )
        run.skipped["relearn_forget"] = "only 1 forget subject and no oracle"
        attack_records = len(run.forget) // 2 or 1
    else:
        # Whole subjects to the attack set when there are several; else the one subject's records
        # are split, and the oracle after the same attack is the target.
        attack_set, evaluation_set = split_by_subject(run.forget, p.relearn_fraction, run.seed)
        attacked = run.per_model(lambda model: run.probes.finetune(model, attack_set, run.seed))
        _attacked_probe(run, "relearn_forget", attacked, evaluation_set, "forget_evaluation")["attack_records"] = len(
            attack_set
        )
        attack_records = len(attack_set)
    benign = sample_records(run.retain, attack_records, run.seed)
    attacked = run.per_model(lambda model: run.probes.finetune(model, benign, run.seed))
    _attacked_probe(run, "relearn_retain", attacked, run.forget, "forget")["attack_records"] = len(benign)


def quantization_stage(run: Run, bits: int) -> None:
    attacked = run.per_model(lambda model: quantized_copy(model, bits))
    _attacked_probe(run, f"quantized_{bits}bit", attacked, run.forget, "forget")


def utility_stage(run: Run) -> None:
    """Utility lost on retained and general data, beyond what the oracle loses (it had to forget
    too), or beyond the parent when there is no oracle. Where the oracle happens to do better than
    the parent, the target stays at no loss: the candidate need not match a gain. The parent is
    no power control here."""
    p, probes = run.policy, run.probes
    roles = [role for role in run.roles if role != "parent"]
    utility: dict = {}
    if run.kind == CAUSAL_LM:
        for name, records in (("retain", run.retain), ("general", run.general)):
            sums = {role: probes.loss_sums(run.models[role], run.key(role), records, name) for role in run.roles}

            def increase(role, i, _j, sums=sums) -> float:
                loss = {r: float(np.sum(sums[r][0][i]) / np.sum(sums[r][1][i])) for r in (role, "parent")}
                return math.exp(loss[role] - loss["parent"]) - 1.0

            threshold = p.retain_perplexity_increase_max if name == "retain" else p.general_perplexity_increase_max
            run.judge.gate(
                f"utility.{name}_perplexity_increase",
                increase,
                roles,
                records,
                records,
                baseline=0.0,
                margin=threshold,
                cap=p.utility_noise_cap,
                power=False,
                target_floor=0.0,
            )
            utility[name] = {
                f"perplexity_{role}": math.exp(float(np.sum(sums[role][0]) / np.sum(sums[role][1])))
                for role in run.roles
            }
        knowledge = {
            role: probes.knowledge(run.models[role], run.key(role), run.retain, "retain") for role in run.roles
        }
        if knowledge["candidate"] is None:
            run.skipped["utility.retain_knowledge_drop"] = "retain set holds no question-answer records"
        else:

            def drop(role, i, _j) -> float:
                return float(np.mean(knowledge["parent"].greedy_matches[i] - knowledge[role].greedy_matches[i]))

            retain_qa = questions(run.retain)
            run.judge.gate(
                "utility.retain_knowledge_drop",
                drop,
                roles,
                retain_qa,
                retain_qa,
                baseline=0.0,
                margin=p.retain_knowledge_drop_max,
                cap=p.utility_noise_cap,
                power=False,
                target_floor=0.0,
            )
            utility["retain"].update({f"knowledge_accuracy_{r}": k.accuracy for r, k in knowledge.items()})
    else:
        for name, records in (("retain", run.retain), ("general", run.general)):
            correct = {
                role: probes.statistics(run.models[role], run.key(role), records, name).correct.astype(np.float64)
                for role in run.roles
            }

            def accuracy_drop(role, i, _j, correct=correct) -> float:
                return float(np.mean(correct["parent"][i]) - np.mean(correct[role][i]))

            threshold = p.retain_accuracy_drop_max if name == "retain" else p.general_accuracy_drop_max
            run.judge.gate(
                f"utility.{name}_accuracy_drop",
                accuracy_drop,
                roles,
                records,
                records,
                baseline=0.0,
                margin=threshold,
                cap=p.utility_noise_cap,
                power=False,
                target_floor=0.0,
            )
            utility[name] = {f"accuracy_{role}": float(np.mean(values)) for role, values in correct.items()}
    run.details["utility"] = utility
