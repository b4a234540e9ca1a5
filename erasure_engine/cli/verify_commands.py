"""`verify` (full verdict against a policy) and `mia` (membership-attack report only).

Model, SISA and verification modules (torch, transformers) are imported inside the command that
needs them, as in every CLI module: `erasure-engine --help` and argument errors answer at once."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

from tqdm import tqdm

from erasure_engine.cli.loading_options import lm_loading_options, loading_arguments
from erasure_engine.cli.selection import forget_selection_arguments
from erasure_engine.errors import InvalidInput, ObjectNotFound
from erasure_engine.records import Record
from erasure_engine.storage import local_directory, object_store_from_url


def register(subparsers) -> None:
    verify = subparsers.add_parser(
        "verify", help="run every attack and probe on a candidate model; write verdict.json + PNGs"
    )
    verify.add_argument("--candidate", required=True, help="unlearned model: a directory or s3://bucket/prefix")
    verify.add_argument("--parent", required=True, help="the model it was unlearned from")
    verify.add_argument(
        "--oracle", help="model retrained without the forget set (enables KS forget quality + PrivLeak)"
    )
    verify.add_argument("--reference", help="reference LM for the calibrated (reference-model) attack")
    verify.add_argument(
        "--references",
        metavar="STORE",
        help="object store (folder, file:// or s3://) holding a SISA model version whose shards calibrate "
        "the LiRA attack (each is OUT for the subjects of the other shards); name it with --references-version",
    )
    verify.add_argument("--references-version", metavar="NAME/VERSION", help="the SISA model version in --references")
    verify.add_argument("--tokenizer", help="tokenizer directory (default: the candidate's)")
    data_arguments(verify)
    verify.add_argument(
        "--retain", help="JSONL records still trained on (default: --dataset minus the forget selection)"
    )
    verify.add_argument("--general", help="JSONL general held-out records for utility (default: the holdout)")
    verify.add_argument("--policy", help="JSON file of policy overrides (unknown keys are an error)")
    verify.add_argument("--seed", type=int, default=0)
    verify.add_argument("--out", required=True, help="output directory for verdict.json and the PNG plots")
    verify.add_argument("--endpoint-url", help="S3 endpoint for s3:// model URLs")
    # cpu by default until every attack moves its batches to the model's device.
    loading_arguments(verify, default_device="cpu")
    verify.set_defaults(handler=handle_verify)

    mia = subparsers.add_parser("mia", help="membership-inference report: forget (members) vs holdout (never seen)")
    mia.add_argument("--model", required=True, help="model directory or s3://bucket/prefix")
    mia.add_argument("--reference", help="reference LM for the calibrated attack")
    mia.add_argument("--tokenizer", help="tokenizer directory (default: the model's)")
    data_arguments(mia)
    mia.add_argument("--policy", help="JSON file of policy overrides")
    mia.add_argument("--out", help="write the report as JSON here too")
    mia.add_argument("--endpoint-url", help="S3 endpoint for s3:// model URLs")
    loading_arguments(mia, default_device="cpu")
    mia.set_defaults(handler=handle_mia)


def data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--forget", help="JSONL records to forget (members)")
    parser.add_argument(
        "--dataset",
        help="JSONL records of the training data set version; select the forget set with --subject-key/--record-id",
    )
    forget_selection_arguments(parser, what="of the forget set")
    parser.add_argument("--holdout", required=True, help="JSONL records about never-seen subjects (non-members)")


def read_jsonl(path: str) -> list[Record]:
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise ObjectNotFound(f"records file {path} does not exist") from None
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(Record.from_json(json.loads(line)))
        except ValueError as error:
            raise InvalidInput(f"{path} line {number} is not a JSON record ({error})") from None
    return records


def select_data(args) -> tuple[list[Record], list[Record] | None]:
    """(forget, rest of the dataset or None): from --forget, or a selection out of --dataset."""
    if args.forget and args.dataset:
        raise InvalidInput("give either --forget or --dataset with a selection, not both")
    if args.forget:
        forget, rest = read_jsonl(args.forget), None
    elif args.dataset:
        if not args.subject_key and not args.record_id:
            raise InvalidInput("--dataset needs --subject-key or --record-id to select the forget set")
        records = read_jsonl(args.dataset)
        subjects, ids = set(args.subject_key), set(args.record_id)
        chosen = [r.subject_key in subjects or r.record_id in ids for r in records]
        forget = [r for r, keep in zip(records, chosen) if keep]
        rest = [r for r, keep in zip(records, chosen) if not keep]
    else:
        raise InvalidInput("give the forget set: --forget FILE, or --dataset FILE with --subject-key/--record-id")
    if not forget:
        raise InvalidInput("the forget set is empty: nothing to verify")
    return forget, rest


def load_tokenizer_for(directories: dict[str, Path], explicit: str | None):
    """The tokenizer to use, after checking every model directory that ships one agrees on it."""
    from erasure_engine.models import load_tokenizer
    from erasure_engine.models.tokenizer import has_tokenizer

    shipped = {role: load_tokenizer(path) for role, path in directories.items() if has_tokenizer(path)}
    vocabularies = {role: tokenizer.get_vocab() for role, tokenizer in shipped.items()}
    first = next(iter(vocabularies.values()), None)
    for role, vocabulary in vocabularies.items():
        if vocabulary != first:
            raise InvalidInput(f"tokenizer mismatch: the {role} model's vocabulary differs from the others'")
    if explicit:
        tokenizer = load_tokenizer(explicit)
        if first is not None and tokenizer.get_vocab() != first:
            raise InvalidInput("tokenizer mismatch: --tokenizer differs from the one the models ship")
        return tokenizer
    return next(iter(shipped.values()), None)


def progress_bar(description: str):
    bar = tqdm(total=100, desc=description, file=sys.stderr, unit="%", leave=False)

    def update(fraction: float, message: str) -> None:
        bar.set_postfix_str(message)
        bar.update(round(fraction * 100) - bar.n)

    return bar, update


def sisa_references(args, forget: list[Record]) -> list:
    """The shards of a stored SISA version as LiRA references (see sisa.references)."""
    from erasure_engine.datasets import DatasetStore
    from erasure_engine.sisa import ModelRegistry, load_shard_references, shard_subjects, uncovered_records

    if not args.references or not args.references_version:
        raise InvalidInput("--references STORE and --references-version NAME/VERSION go together")
    name, _, version_id = args.references_version.partition("/")
    if not name or not version_id:
        raise InvalidInput(f"--references-version must be NAME/VERSION, not {args.references_version!r}")
    store = object_store_from_url(args.references, endpoint_url=args.endpoint_url)
    version = ModelRegistry(store).load(name, version_id)
    dataset_name = version.dataset.get("dataset")
    if not dataset_name:
        raise InvalidInput(f"{name}/{version_id} was not trained on a stored dataset: its shards' subjects are unknown")
    dataset = DatasetStore(store, dataset_name).load_version(version.dataset["version_id"], verify=False)
    subjects = shard_subjects(version, dataset, forget)
    missing = uncovered_records(subjects, forget) if len(subjects) > 1 else [r.record_id for r in forget]
    if missing:
        raise InvalidInput(
            f"{len(missing)} forget record(s) have no shard of {name}/{version_id} that never held their subject "
            f"(e.g. {missing[:3]})"
        )
    return load_shard_references(store, version, subjects)


def handle_verify(args) -> int:
    from erasure_engine.models.loading import load_saved_model
    from erasure_engine.verification import VerificationPolicy, verify, write_report

    policy = VerificationPolicy.from_json_file(args.policy) if args.policy else VerificationPolicy()
    forget, rest = select_data(args)
    retain = read_jsonl(args.retain) if args.retain else rest
    if retain is None:
        raise InvalidInput("give --retain, or --dataset so the retained records are the rest of it")
    holdout = read_jsonl(args.holdout)
    general = read_jsonl(args.general) if args.general else None
    references = sisa_references(args, forget) if args.references or args.references_version else None
    with tempfile.TemporaryDirectory() as scratch:
        locations = {
            "candidate": args.candidate,
            "parent": args.parent,
            "oracle": args.oracle,
            "reference": args.reference,
        }
        directories = {
            role: local_directory(location, Path(scratch), endpoint_url=args.endpoint_url)
            for role, location in locations.items()
            if location
        }
        options = lm_loading_options(args, directories["candidate"], job="verify")
        models = {role: load_saved_model(path, **options) for role, path in directories.items()}
        tokenizer = (
            load_tokenizer_for(directories, args.tokenizer)
            if hasattr(models["candidate"], "get_input_embeddings")
            else None
        )
        bar, update = progress_bar("verify")
        try:
            verdict = verify(
                models["candidate"],
                models["parent"],
                forget,
                retain,
                holdout,
                oracle=models.get("oracle"),
                reference=models.get("reference"),
                references=references,
                general=general,
                tokenizer=tokenizer,
                policy=policy,
                seed=args.seed,
                progress=update,
            )
        finally:
            bar.close()
    paths = write_report(verdict, args.out)
    labels = {"passed": "pass", "failed": "FAIL", "inconclusive": "N/A?", "reported": "info"}
    for metric in verdict.metrics:
        threshold = "" if metric.threshold is None else f" (threshold {metric.threshold:.4g}, {metric.direction})"
        value = "—" if metric.value != metric.value else f"{metric.value:.4g}"  # NaN: the check could not run
        print(f"{labels[metric.outcome]:4}  {metric.name:45} {value}{threshold}")
    print(f"verdict: {verdict.outcome.upper()} ({verdict.reason})  ->  {paths['verdict']}")
    # 0 passed, 1 failed, 3 inconclusive (2 is bad input).
    return {"passed": 0, "failed": 1, "inconclusive": 3}[verdict.outcome]


def handle_mia(args) -> int:
    from erasure_engine.models.loading import load_saved_model
    from erasure_engine.verification import (
        VerificationPolicy,
        compute_classifier_statistics,
        compute_lm_statistics,
        membership_attack,
    )
    from erasure_engine.verification.membership import classifier_membership_scores, lm_membership_scores

    policy = VerificationPolicy.from_json_file(args.policy) if args.policy else VerificationPolicy()
    forget, _ = select_data(args)
    holdout = read_jsonl(args.holdout)
    if not holdout:
        raise InvalidInput("the holdout set is empty: membership inference needs never-seen records")
    with tempfile.TemporaryDirectory() as scratch:
        directories = {"model": local_directory(args.model, Path(scratch), endpoint_url=args.endpoint_url)}
        if args.reference:
            directories["reference"] = local_directory(args.reference, Path(scratch), endpoint_url=args.endpoint_url)
        options = lm_loading_options(args, directories["model"], job="verify")
        models = {role: load_saved_model(path, **options) for role, path in directories.items()}
        model = models["model"]
        if hasattr(model, "get_input_embeddings"):
            tokenizer = load_tokenizer_for(directories, args.tokenizer)
            if tokenizer is None:
                raise InvalidInput("a language model needs a tokenizer: give --tokenizer")

            def scores(records):
                texts = [r.content["text"] for r in records]
                stats = compute_lm_statistics(model, tokenizer, texts, batch_size=policy.batch_size)
                reference = None
                if "reference" in models:
                    reference = compute_lm_statistics(
                        models["reference"], tokenizer, texts, batch_size=policy.batch_size
                    )
                return lm_membership_scores(stats, min_k_fraction=policy.min_k_fraction, reference=reference)
        else:

            def scores(records):
                return classifier_membership_scores(compute_classifier_statistics(model, records))

        members, nonmembers = scores(forget), scores(holdout)
    report = {
        "members": len(forget),
        "nonmembers": len(holdout),
        "attacks": {s: membership_attack(members[s], nonmembers[s], low_fpr=policy.low_fpr).to_json() for s in members},
    }
    for statistic, result in report["attacks"].items():
        print(f"{statistic:10} AUC {result['auc']:.4f}  TPR@{policy.low_fpr:g}FPR {result['tpr_at_low_fpr']:.4f}")
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0
