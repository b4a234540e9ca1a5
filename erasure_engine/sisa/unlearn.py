"""Exact unlearning: retrain only the affected shards, from the checkpoint saved before the
first affected slice, on the new dataset version. Because training is deterministic and a
record's shard/slice never moves, the result is bit-identical to training those shards from
scratch without the deleted records (every other shard is unchanged by construction).

The old dataset version is purged by the erasure, so the proof that the new version is exactly
the training data minus the deletions uses the per-slice listing digests recorded in the parent
model version (sorted record id + content hash pairs).

Like training, it splits into plan → retrain_shard (parallelisable) → finalize."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from erasure_engine.errors import IntegrityMismatch, InvalidInput
from erasure_engine.records import canonical_json
from erasure_engine.sisa.backends import LoadedAssets
from erasure_engine.sisa.data import ShardedDataset, listing_digest, listing_rows, slice_listings
from erasure_engine.sisa.manifest import ModelRegistry, ModelVersion
from erasure_engine.sisa.trainer import (
    Progress,
    ShardResult,
    TrainingPlan,
    dataset_identity,
    environment,
    load_assets,
    planned_samples,
    train_shard,
)
from erasure_engine.storage import ObjectStore

METHOD = "sisa-exact"


@dataclass(frozen=True)
class Deletion:
    """One erased record, as dataset erasure evidence describes it."""

    record_id: str
    content_hash: str
    shard: int
    slice: int

    @classmethod
    def from_dict(cls, data: dict) -> Deletion:
        try:
            return cls(str(data["record_id"]), str(data["content_hash"]), int(data["shard"]), int(data["slice"]))
        except (KeyError, TypeError, ValueError) as error:
            raise InvalidInput(f"malformed deletion entry {data!r}: {error!r}") from None


def deletions_from_dataset(
    dataset: ShardedDataset, *, record_ids: Iterable[str] = (), subject_keys: Iterable[str] = ()
) -> list[Deletion]:
    """Deletions of records (by id or subject key) from a still-readable dataset version."""
    wanted = set(record_ids)
    subject_keys = set(subject_keys)
    if subject_keys:
        found = dataset.record_ids_of_subjects(subject_keys)
        if not found:
            raise InvalidInput(f"no record of the given subject keys is in dataset version {dataset.version_id}")
        wanted.update(found)
    if not wanted:
        raise InvalidInput("name at least one record id or subject key to unlearn")
    rows = {
        record.record_id: Deletion(record.record_id, record.content_hash, shard, slice_)
        for shard in range(dataset.shards)
        for slice_ in range(dataset.slices)
        for record in dataset.records_in(shard, slice_)
        if record.record_id in wanted
    }
    unknown = sorted(wanted - set(rows))
    if unknown:
        raise InvalidInput(f"unknown record ids (not in dataset version {dataset.version_id}): {unknown[:20]}")
    return [rows[record_id] for record_id in sorted(rows)]


def deletions_from_erasure(evidence: dict) -> list[Deletion]:
    """Deletions from erasure evidence: an ErasureReport's JSON ("removed_records") or a dataset
    version manifest's "erasure" block ("removed")."""
    entries = evidence.get("removed_records", evidence.get("removed"))
    if not isinstance(entries, list) or not entries:
        raise InvalidInput("the erasure evidence lists no removed records")
    return sorted((Deletion.from_dict(entry) for entry in entries), key=lambda deletion: deletion.record_id)


@dataclass
class UnlearningPlan:
    parent: ModelVersion
    training: TrainingPlan  # for the new version
    deletions: list[Deletion]
    first_affected_slice: dict[int, int]  # shard -> first slice holding a deleted record

    def to_dict(self) -> dict:
        return {
            "parent": self.parent.to_dict(),
            "training": self.training.to_dict(),
            "deletions": [asdict(deletion) for deletion in self.deletions],
            "first_affected_slice": {str(shard): slice_ for shard, slice_ in self.first_affected_slice.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> UnlearningPlan:
        return cls(
            parent=ModelVersion.from_dict(data["parent"]),
            training=TrainingPlan.from_dict(data["training"]),
            deletions=[Deletion.from_dict(entry) for entry in data["deletions"]],
            first_affected_slice={int(shard): int(slice_) for shard, slice_ in data["first_affected_slice"].items()},
        )

    @property
    def version_id(self) -> str:
        return self.training.version_id


def unlearning_version_id(parent: ModelVersion, dataset_after: dict, deleted_ids: Sequence[str]) -> str:
    identity = {
        "parent": parent.version_id,
        "dataset_after": dataset_after,
        "deleted": sorted(deleted_ids),
        "method": METHOD,
    }
    return "v-" + hashlib.sha256(canonical_json(identity)).hexdigest()[:16]


def plan_exact_unlearning(
    parent: ModelVersion, *, dataset_after: ShardedDataset, deletions: Sequence[Deletion]
) -> UnlearningPlan:
    """Prove `dataset_after` is the parent's training data minus `deletions`, slice by slice,
    and plan one retrain per affected shard from its earliest affected slice."""
    if not deletions:
        raise InvalidInput("nothing to unlearn: no deletions given")
    if (dataset_after.shards, dataset_after.slices) != (parent.shards, parent.slices):
        raise InvalidInput(
            f"dataset version {dataset_after.version_id} is split {dataset_after.shards}x{dataset_after.slices}, "
            f"the model {parent.shards}x{parent.slices}"
        )
    by_id = {deletion.record_id: deletion for deletion in deletions}
    for deletion in by_id.values():
        if not (0 <= deletion.shard < parent.shards and 0 <= deletion.slice < parent.slices):
            raise InvalidInput(
                f"deleted record {deletion.record_id} has an impossible place {deletion.shard}/{deletion.slice}"
            )
    for shard in range(parent.shards):
        for slice_ in range(parent.slices):
            rows = listing_rows(dataset_after, shard, slice_)
            still_there = sorted(record_id for record_id, _ in rows if record_id in by_id)
            if still_there:
                raise InvalidInput(
                    f"records {still_there[:20]} are still in dataset version {dataset_after.version_id}: erase them first"
                )
            rows += [(d.record_id, d.content_hash) for d in by_id.values() if (d.shard, d.slice) == (shard, slice_)]
            if listing_digest(rows) != parent.data_listing[shard][slice_]["sha256"]:
                raise InvalidInput(
                    f"dataset version {dataset_after.version_id} plus the deleted records is not what "
                    f"{parent.model_name}/{parent.version_id} trained on in shard {shard} slice {slice_}: "
                    "unknown record ids, wrong placements, or other changes to the data"
                )
    first_affected: dict[int, int] = {}
    for deletion in by_id.values():
        first_affected[deletion.shard] = min(deletion.slice, first_affected.get(deletion.shard, deletion.slice))
    # A parent made by deactivation has shards whose later slices are inactive: retrain each of
    # them too, from its first inactive slice (after its last active checkpoint), so the new
    # version is whole again.
    for shard in range(parent.shards):
        if parent.active_slices(shard) < parent.slices:
            first_affected[shard] = min(first_affected.get(shard, parent.slices), parent.active_slices(shard))
    after_identity = dataset_identity(dataset_after)
    training = TrainingPlan(
        model_name=parent.model_name,
        version_id=unlearning_version_id(parent, after_identity, list(by_id)),
        config=parent.training,
        model_config=parent.model_config,
        assets=parent.assets,
        dataset=after_identity,
        shards=parent.shards,
        slices=parent.slices,
        data_listing=slice_listings(dataset_after),
    )
    ordered = [by_id[record_id] for record_id in sorted(by_id)]
    return UnlearningPlan(parent, training, ordered, dict(sorted(first_affected.items())))


def retrain_shard(
    store: ObjectStore,
    plan: UnlearningPlan,
    dataset_after: ShardedDataset,
    shard: int,
    *,
    assets: LoadedAssets | None = None,
    progress: Progress | None = None,
) -> ShardResult:
    """Retrain one affected shard from the checkpoint before its first affected slice
    (for slice 0: the shard's seeded initial state)."""
    if shard not in plan.first_affected_slice:
        raise InvalidInput(f"shard {shard} holds no deleted record; nothing to retrain")
    start = plan.first_affected_slice[shard]
    resume = plan.parent.checkpoints[shard][start - 1] if start > 0 else None
    return train_shard(
        store,
        plan.training,
        dataset_after,
        shard,
        start_slice=start,
        resume_from=resume,
        assets=assets,
        progress=progress,
    )


def finalize_exact_unlearning(
    store: ObjectStore,
    plan: UnlearningPlan,
    results: Sequence[ShardResult],
    *,
    dataset_after: ShardedDataset,
    results_device: str = "cpu",
) -> ModelVersion:
    by_shard = {result.shard: result for result in results}
    missing = sorted(set(plan.first_affected_slice) - set(by_shard))
    if missing:
        raise InvalidInput(f"cannot finalize {plan.version_id}: affected shards {missing} were not retrained")
    parent = plan.parent
    checkpoints = []
    for shard in range(parent.shards):
        kept = (
            parent.checkpoints[shard][: by_shard[shard].start_slice] if shard in by_shard else parent.checkpoints[shard]
        )
        checkpoints.append(list(kept) + (by_shard[shard].checkpoints if shard in by_shard else []))
    seconds = sum(result.seconds for result in results)
    samples = sum(result.samples_processed for result in results)
    full_samples = planned_samples(dataset_after, parent.training)
    full_seconds = parent.cost.get("full_training_seconds") or parent.cost.get("seconds") or 0.0
    cost = {
        "seconds": seconds,
        "samples_processed": samples,
        "slices_retrained": sum(parent.slices - result.start_slice for result in results),
        "slices_total": parent.shards * parent.slices,
        "fraction_of_full_retrain": samples / full_samples if full_samples else 0.0,
        "fraction_of_full_retrain_seconds": seconds / full_seconds if full_seconds else None,
        "full_training_seconds": full_seconds,
    }
    version = child_version(
        parent,
        plan,
        version_id=plan.version_id,
        created_by="unlearn-exact",
        method=METHOD,
        checkpoints=checkpoints,
        cost=cost,
        environment_info=environment(results_device),
        details={
            "affected": [
                {"shard": shard, "first_slice": start, "slices_retrained": parent.slices - start}
                for shard, start in plan.first_affected_slice.items()
            ]
        },
    )
    ModelRegistry(store).save(version)
    return version


def child_version(
    parent: ModelVersion,
    plan: UnlearningPlan,
    *,
    version_id: str,
    created_by: str,
    method: str,
    checkpoints,
    cost: dict,
    environment_info: dict,
    details: dict,
) -> ModelVersion:
    """The manifest of a version derived from `parent` by `plan` (a retrain or a deactivation): the
    parent's layout and assets, the plan's data, and what was done to which shards (`details`)."""
    return ModelVersion(
        model_name=parent.model_name,
        version_id=version_id,
        parent_version_id=parent.version_id,
        created_by=created_by,
        kind=parent.kind,
        dataset=plan.training.dataset,
        shards=parent.shards,
        slices=parent.slices,
        training=parent.training,
        model_config=parent.model_config,
        assets=parent.assets,
        checkpoints=checkpoints,
        data_listing=plan.training.data_listing,
        cost=cost,
        unlearning={
            "method": method,
            "parent_version_id": parent.version_id,
            "dataset_before": parent.dataset,
            "dataset_after": plan.training.dataset,
            "deleted_records": [asdict(deletion) for deletion in plan.deletions],
            **details,
            "cost": cost,
        },
        environment=environment_info,
    )


def unlearn_exact(
    store: ObjectStore,
    model_name: str,
    parent_version_id: str,
    *,
    dataset_after: ShardedDataset,
    deletions: Sequence[Deletion],
    progress: Progress | None = None,
    reuse_existing: bool = True,
    device: str = "cpu",
) -> ModelVersion:
    """One call: plan, retrain every affected shard once (a batch shares the retrain), finalize.

    Idempotent: the same deletions on the same parent give the same version id; an existing one
    is returned, or with reuse_existing=False recomputed and checked digest for digest."""
    registry = ModelRegistry(store)
    parent = registry.load(model_name, parent_version_id)
    plan = plan_exact_unlearning(parent, dataset_after=dataset_after, deletions=deletions)
    existing = registry.load(model_name, plan.version_id) if registry.exists(model_name, plan.version_id) else None
    if existing is not None and reuse_existing:
        return existing
    assets = load_assets(store, plan.training.assets, device=device)
    results = [
        retrain_shard(store, plan, dataset_after, shard, assets=assets, progress=progress)
        for shard in plan.first_affected_slice
    ]
    if existing is not None:
        recomputed = {result.shard: result.checkpoints[-1].weights_digest for result in results}
        stored = {shard: existing.shard_digests[shard] for shard in recomputed}
        if recomputed != stored:
            raise IntegrityMismatch(
                f"recomputed unlearning {plan.version_id} differs from the stored version "
                f"(shard digests {recomputed} vs {stored}): training is not deterministic here"
            )
    return finalize_exact_unlearning(store, plan, results, dataset_after=dataset_after, results_device=device)
