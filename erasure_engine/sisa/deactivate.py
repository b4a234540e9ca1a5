"""Compliance at once: a version that uses no component trained on the deleted records, made
without training anything.

Each affected shard falls back to its checkpoint from before its first affected slice — the
model of slices 0..j-1, which never saw slice j or later — or, when the first affected slice is
0, leaves the ensemble. Every other shard is kept as it is. The version is exact by
construction: because training is deterministic and placements never move, each active
component is bit-identical to training it from scratch on the data that remains (tested), and
its ensemble weight is the records it was trained on, so a truncated shard speaks softer.

It costs a manifest read and write (well under a second) and can be released while
`unlearn_exact` from the same parent, with the same deletions, restores full quality."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence

from erasure_engine.errors import InvalidInput
from erasure_engine.records import canonical_json
from erasure_engine.sisa.data import ShardedDataset
from erasure_engine.sisa.manifest import ModelRegistry, ModelVersion
from erasure_engine.sisa.trainer import environment
from erasure_engine.sisa.unlearn import Deletion, UnlearningPlan, child_version, plan_exact_unlearning
from erasure_engine.storage import ObjectStore

METHOD = "sisa-deactivate"


def deactivation_version_id(plan: UnlearningPlan) -> str:
    identity = {
        "parent": plan.parent.version_id,
        "dataset_after": plan.training.dataset,
        "deleted": sorted(deletion.record_id for deletion in plan.deletions),
        "method": METHOD,
    }
    return "v-" + hashlib.sha256(canonical_json(identity)).hexdigest()[:16]


def deactivated_version(plan: UnlearningPlan, *, seconds: float = 0.0) -> ModelVersion:
    """The parent with each affected shard cut back to the checkpoints before its first affected
    slice (none: the shard is dropped). Refuses when no trained shard would remain."""
    parent = plan.parent
    checkpoints = [
        list(parent.checkpoints[shard][: plan.first_affected_slice[shard]])
        if shard in plan.first_affected_slice
        else list(parent.checkpoints[shard])
        for shard in range(parent.shards)
    ]
    cost = {
        "seconds": seconds,
        "time_to_compliance_seconds": seconds,
        "samples_processed": 0,
        "slices_retrained": 0,
        "full_training_seconds": parent.cost.get("full_training_seconds"),  # for the restoring retrain's ratio
    }
    version = child_version(
        parent,
        plan,
        version_id=deactivation_version_id(plan),
        created_by="deactivate-exact",
        method=METHOD,
        checkpoints=checkpoints,
        cost=cost,
        environment_info=environment(),
        details={
            "deactivated": [
                {"shard": shard, "active_slices": start, "dropped": start == 0}
                for shard, start in plan.first_affected_slice.items()
            ],
            "restore_with": {"method": "sisa-exact", "parent_version_id": parent.version_id},
        },
    )
    if not version.active_shards:
        raise InvalidInput(
            f"deactivating {parent.model_name}/{parent.version_id} for these deletions leaves no trained shard; "
            "retrain instead (unlearn-exact)"
        )
    return version


def deactivate_exact(
    store: ObjectStore,
    model_name: str,
    parent_version_id: str,
    *,
    dataset_after: ShardedDataset,
    deletions: Sequence[Deletion],
) -> ModelVersion:
    """Prove `dataset_after` is the parent's data minus `deletions` (from manifests, no slice
    object read), then record the deactivated version. Idempotent: the same deletions on the
    same parent give the same version id and the stored version is returned."""
    started = time.perf_counter()
    registry = ModelRegistry(store)
    parent = registry.load(model_name, parent_version_id)
    plan = plan_exact_unlearning(parent, dataset_after=dataset_after, deletions=deletions)
    version_id = deactivation_version_id(plan)
    if registry.exists(model_name, version_id):
        return registry.load(model_name, version_id)
    version = deactivated_version(plan, seconds=time.perf_counter() - started)
    registry.save(version)
    return version
