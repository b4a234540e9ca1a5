"""`unlearn-exact`: erase records from the model's dataset (or take an erasure report) and
retrain only the affected SISA shards — or, with --deactivate, make at once a version that no
longer uses them (see sisa.deactivate); prints the new version's lineage as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from erasure_engine.cli.model_commands import open_store, print_json, progress_bar, quiet_transformers, store_arguments
from erasure_engine.cli.selection import forget_selection_arguments
from erasure_engine.errors import InvalidInput


def register(subparsers) -> None:
    unlearn = subparsers.add_parser(
        "unlearn-exact", help="exact unlearning: retrain the affected shards of a SISA model version"
    )
    store_arguments(unlearn)
    unlearn.add_argument("--name", required=True, help="model name")
    unlearn.add_argument("--version", required=True, help="parent model version id")
    forget_selection_arguments(unlearn, what="to erase and unlearn")
    unlearn.add_argument(
        "--erasure-report",
        type=Path,
        help="JSON ErasureReport of an erasure already done (instead of --record-id/--subject-key)",
    )
    unlearn.add_argument(
        "--recompute", action="store_true", help="retrain even if this unlearning exists, and check the digests match"
    )
    unlearn.add_argument(
        "--deactivate",
        action="store_true",
        help="compliance at once: fall back to each affected shard's checkpoint before its first "
        "affected slice (or drop the shard) instead of retraining",
    )
    unlearn.set_defaults(handler=handle_unlearn_exact)


def handle_unlearn_exact(args) -> int:
    from erasure_engine.datasets import DatasetStore
    from erasure_engine.sisa.manifest import ModelRegistry
    from erasure_engine.sisa.trainer import planned_samples
    from erasure_engine.sisa.unlearn import deletions_from_erasure, plan_exact_unlearning, unlearn_exact

    quiet_transformers()
    store = open_store(args)
    parent = ModelRegistry(store).load(args.name, args.version)
    if args.erasure_report and (args.record_id or args.subject_key):
        raise InvalidInput("give either --erasure-report or --record-id/--subject-key, not both")
    if args.erasure_report:
        try:
            report = json.loads(args.erasure_report.read_text())
        except (OSError, ValueError) as error:
            raise InvalidInput(f"cannot read erasure report {args.erasure_report}: {error}") from None
    elif args.record_id or args.subject_key:
        dataset_name = parent.dataset.get("dataset")
        if not dataset_name:
            raise InvalidInput(f"{args.name}/{args.version} was not trained on a stored dataset; pass --erasure-report")
        report = (
            DatasetStore(store, dataset_name)
            .erase(parent.dataset["version_id"], subject_keys=args.subject_key, record_ids=args.record_id)
            .to_json()
        )
    else:
        raise InvalidInput("name what to unlearn: --record-id, --subject-key or --erasure-report")
    if not report.get("new_version"):
        raise InvalidInput(f"the erasure left nothing to unlearn (records already erased in {report.get('erased_in')})")
    dataset_after = DatasetStore(store, report["dataset"]).load_version(report["new_version"])
    deletions = deletions_from_erasure(report)
    if args.deactivate:
        from erasure_engine.sisa.deactivate import deactivate_exact

        if args.recompute:
            raise InvalidInput("--recompute retrains; it does not apply to --deactivate")
        version = deactivate_exact(store, args.name, args.version, dataset_after=dataset_after, deletions=deletions)
        print_json(
            {
                "model_name": version.model_name,
                "version_id": version.version_id,
                "parent_version_id": version.parent_version_id,
                "shard_digests": version.shard_digests,
                "shard_weights": version.shard_weights,
                "time_to_compliance_seconds": version.cost["time_to_compliance_seconds"],
                "lineage": version.unlearning,
            }
        )
        return 0
    plan = plan_exact_unlearning(parent, dataset_after=dataset_after, deletions=deletions)
    total = planned_samples(dataset_after, parent.training, plan.first_affected_slice)
    with progress_bar(total, f"unlearn {args.name}") as progress:
        version = unlearn_exact(
            store,
            args.name,
            args.version,
            dataset_after=dataset_after,
            deletions=deletions,
            progress=progress,
            reuse_existing=not args.recompute,
        )
    print_json(
        {
            "model_name": version.model_name,
            "version_id": version.version_id,
            "parent_version_id": version.parent_version_id,
            "shard_digests": version.shard_digests,
            "lineage": version.unlearning,
        }
    )
    return 0
