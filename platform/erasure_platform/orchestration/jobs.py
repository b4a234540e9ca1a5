"""Orchestration jobs. Handlers call the engine, heartbeat through context.progress and checkpoint
with context.save_state, so a retry after a crash resumes after the last finished step; each
ends by handing its result to a service that moves the plan or batch on.

orchestration.erase_datasets (default queue)  erase a granted request's records from datasets
orchestration.unlearn        (gpu)            exact (SISA shard retrain) or approximate unlearning of a batch
orchestration.verify         (gpu)            the engine's verification suite on a candidate
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

from erasure_platform.core import engine
from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.queues import DEFAULT_QUEUE, GPU_QUEUE
from erasure_platform.core.services.jobs import JobContext, JobFailed, SampleProgress, job_handler
from erasure_platform.orchestration.forget_sets import forget_set_read, forget_set_write
from erasure_platform.orchestration.models import ErasurePlan, ModelOutcome, UnlearningBatch
from erasure_platform.orchestration.services import candidates as candidate_services
from erasure_platform.orchestration.services import plans as plan_services
from erasure_platform.orchestration.services import restore as restore_services
from erasure_platform.orchestration.services.batches import UNLEARN_JOB
from erasure_platform.registry import loading
from erasure_platform.registry.models import DatasetVersion, ModelVersion, VersionLayout
from erasure_platform.registry.selectors import current_versions_holding, exact_unlearning_evidence, verdict_outcome
from erasure_platform.registry.services import dataset_imports as dataset_import_services
from erasure_platform.registry.services import datasets as dataset_services
from erasure_platform.registry.services import identity_maps as identity_map_services
from erasure_platform.registry.services import models as model_services

# ------------------------------------------------------------------ dataset erasure


@job_handler(plan_services.ERASE_JOB, queue=DEFAULT_QUEUE)
def erase_datasets(context: JobContext) -> dict:
    plan = ErasurePlan.objects.filter(pk=context.params.get("plan_id")).first()
    if plan is None:
        raise JobFailed(f"erasure plan {context.params.get('plan_id')} does not exist")
    record_ids = plan_services.plan_record_ids(plan)
    subject_keys = plan_services.plan_subject_keys(plan)
    if "targets" not in context.state:
        holding = current_versions_holding(subject_keys=subject_keys, record_ids=record_ids)
        context.save_state(targets=[version.pk for version in holding])
    targets = context.state["targets"]
    if "forget_set_key" not in context.state:
        # Copy (encrypted) what verification will attack, before the records are gone.
        records = []
        for pk in targets:
            version = DatasetVersion.objects.get(pk=pk)
            records += dataset_services.dataset_records_of_subject(
                version=version, subject_keys=subject_keys, record_ids=record_ids
            )
        key = forget_set_write(plan_id=plan.pk, records=records) if records else ""
        context.save_state(forget_set_key=key, forget_records=len(records))
    done = dict(context.state.get("done", {}))
    for number, pk in enumerate(targets):
        if str(pk) in done:
            continue
        context.progress(number / max(len(targets), 1), f"erasing from dataset version {pk}")
        version = DatasetVersion.objects.select_related("dataset").get(pk=pk)
        try:
            entry = dataset_services.dataset_version_erase(
                version=version,
                subject_keys=subject_keys,
                record_ids=record_ids,
                request_id=plan.request_id,
                actor=f"job:{context.job_id}",
            )
            # Then where the records came from: a PostgreSQL source's rows deleted or masked (a rerun
            # after a crash changes nothing twice: rows already gone count 0); file sources listed.
            after = DatasetVersion.objects.select_related("dataset").get(
                dataset=version.dataset, version_id=entry["version_after"]
            )
            entry["source"] = dataset_import_services.dataset_source_erase(
                version=after,
                removed_record_ids=[removed["record_id"] for removed in entry["removed"]],
                request_id=plan.request_id,
                actor=f"job:{context.job_id}",
            )
        except ApplicationError as error:
            plan_services.plan_fail(plan=plan, error=error.message)
            raise
        done[str(pk)] = entry
        context.save_state(done=done)
    entries = [done[str(pk)] for pk in targets]
    if "identity_links_erased" not in context.state:
        # The identity maps' own entries for this person go with the request (idempotent: a rerun
        # finds none left).
        erased_links = identity_map_services.identity_links_erase(
            subject_keys=subject_keys, request_id=plan.request_id, actor=f"job:{context.job_id}"
        )
        context.save_state(identity_links_erased=erased_links)
    plan_services.plan_datasets_erased(plan=plan, datasets=entries, forget_set_key=context.state["forget_set_key"])
    return {
        "datasets": [
            {k: e[k] for k in ("dataset", "version_before", "version_after")} | {"removed": len(e["removed"])}
            for e in entries
        ]
    }


# ------------------------------------------------------------------ unlearning


def candidate_result(candidate: ModelVersion) -> dict:
    """What a job that made a candidate returns (the job page links the version and tables the cost)."""
    return {
        "candidate": str(candidate.pk),
        "version_id": candidate.version_id,
        "method": candidate.method,
        "cost": candidate.cost,
    }


def _forget_records(batch: UnlearningBatch) -> list:
    records, seen = [], set()
    # Members whose request completed still count while their forget set is kept (the restoring
    # retrain's candidate is verified against it after the compliant version completed them).
    members = batch.members.exclude(status=ModelOutcome.Status.SKIPPED).select_related("plan")
    for member in members:
        if member.plan.forget_set_key:
            for record in forget_set_read(member.plan.forget_set_key):
                if record.record_id not in seen:
                    seen.add(record.record_id)
                    records.append(record)
    return records


@job_handler(UNLEARN_JOB, queue=GPU_QUEUE)
def unlearn(context: JobContext) -> dict:
    batch = (
        UnlearningBatch.objects.filter(pk=context.params.get("batch_id"))
        .select_related("model", "parent_version")
        .first()
    )
    if batch is None or batch.parent_version is None:
        raise JobFailed("the batch or its parent version no longer exists")
    parent = batch.parent_version
    if parent.trained_on is None:
        candidate_services.batch_failed(batch=batch, error=f"{parent} has no recorded training data")
        raise JobFailed(f"{parent} has no recorded training dataset: lineage unknown")
    try:
        latest, removed = loading.erasures_since(parent.trained_on)
        if not removed:
            candidate_services.batch_nothing_to_unlearn(batch=batch, version=parent)
            return {"nothing_to_unlearn": True, "version": parent.version_id}
        if parent.layout == VersionLayout.SISA:
            return _unlearn_exact(context, batch, parent, latest, removed)
        candidate = _unlearn_approximate(context, batch, parent, latest)
    except engine.EngineError as error:
        candidate_services.batch_failed(batch=batch, error=str(error))
        raise JobFailed(str(error)) from None
    candidate_services.batch_candidate_recorded(batch=batch, candidate=candidate)
    return candidate_result(candidate)


def _unlearn_exact(context, batch, parent, latest, removed) -> dict:
    """Compliance first, quality next: record the deactivated version (exact by construction, no
    training), then fan the restoring retrain out as one gpu job per affected shard."""
    store = platform_object_store()
    parent_engine = model_services.engine_model_version(parent)
    dataset_after = loading.engine_dataset(latest)
    deletions = [engine.Deletion.from_dict(entry) for entry in removed]
    if "deactivated" not in context.state:
        context.progress(0.05, "deactivating the affected shards (compliant version)")
        try:
            deactivated = engine.deactivate_exact(
                store, parent.model.name, parent.version_id, dataset_after=dataset_after, deletions=deletions
            )
        except engine.InvalidInput as error:
            # Every shard would be dropped (all hold erased records in their first slice): no
            # compliant version without training; the restoring retrain is the first candidate.
            context.save_state(deactivated="", deactivation_refused=str(error))
        else:
            candidate = model_services.model_version_record_sisa(
                model=batch.model,
                engine_version=deactivated,
                trained_on=latest,
                actor=batch.started_by,
                job=context.job(),
                parent=parent,
                batch=batch,
                method=engine.DEACTIVATE_METHOD,
            )
            candidate_services.batch_candidate_recorded(batch=batch, candidate=candidate, compliant_at_once=True)
            context.save_state(deactivated=candidate.version_id, deactivated_pk=str(candidate.pk))
    if "plan" not in context.state:
        plan = engine.plan_exact_unlearning(parent_engine, dataset_after=dataset_after, deletions=deletions)
        context.save_state(
            plan=plan.to_dict(),
            dataset_version=latest.pk,
            method=engine.EXACT_METHOD,
            candidate_version_id=plan.version_id,
        )
    plan = engine.UnlearningPlan.from_dict(context.state["plan"])
    shards = list(plan.first_affected_slice)
    jobs = restore_services.batch_restore_start(batch=batch, shards=shards, version_id=plan.version_id)
    restoring = {
        "version_id": plan.version_id,
        "method": engine.EXACT_METHOD,
        "shard_jobs": {str(job.params["shard"]): str(job.pk) for job in jobs},
    }
    if not context.state["deactivated"]:
        return {"deactivation_refused": context.state.get("deactivation_refused"), "restoring": restoring}
    candidate = ModelVersion.objects.get(pk=context.state["deactivated_pk"])
    return candidate_result(candidate) | {"restoring": restoring}


def _restore_inputs(batch: UnlearningBatch):
    """The restoring retrain's plan and data, as the unlearn job fixed them (its state)."""
    state = batch.unlearn_job.state if batch.unlearn_job else {}
    if not state.get("plan"):
        raise JobFailed(f"batch {batch.pk} has no planned exact unlearning")
    latest = DatasetVersion.objects.select_related("dataset").get(pk=state["dataset_version"])
    return engine.UnlearningPlan.from_dict(state["plan"]), latest


def _restore_batch(context: JobContext) -> UnlearningBatch:
    batch = (
        UnlearningBatch.objects.filter(pk=context.params.get("batch_id"))
        .select_related("model", "parent_version", "unlearn_job")
        .first()
    )
    if batch is None:
        raise JobFailed(f"batch {context.params.get('batch_id')} does not exist")
    return batch


@job_handler(restore_services.SHARD_JOB, queue=GPU_QUEUE)
def retrain_shard(context: JobContext) -> dict:
    """Retrain one affected shard from its checkpoint before the first affected slice."""
    batch = _restore_batch(context)
    shard = int(context.params["shard"])
    if "result" not in context.state:
        try:
            plan, latest = _restore_inputs(batch)
            dataset_after = loading.engine_dataset(latest)
            store = platform_object_store()
            counter = SampleProgress(
                context,
                engine.planned_samples(dataset_after, plan.training.config, {shard: plan.first_affected_slice[shard]}),
                0.02,
                0.98,
                f"retraining shard {shard} from slice {plan.first_affected_slice[shard]}",
            )
            context.progress(0.02, counter.message)
            assets = engine.load_assets(store, plan.training.assets)
            result = engine.retrain_shard(store, plan, dataset_after, shard, assets=assets, progress=counter)
        except engine.EngineError as error:  # for good: the job.failed event tells the batch
            raise JobFailed(f"shard {shard}: {error}") from None
        context.save_state(result=result.to_dict())
    restore_services.batch_shard_retrained(batch=batch)
    result = context.state["result"]
    return {"shard": shard, "start_slice": result.get("start_slice"), "seconds": result.get("seconds")}


@job_handler(restore_services.FINALIZE_JOB, queue=DEFAULT_QUEUE)
def finalize_exact(context: JobContext) -> dict:
    """Assemble the retrained shards and the untouched ones into the full-quality version."""
    batch = _restore_batch(context)
    try:
        plan, latest = _restore_inputs(batch)
        results = restore_services.batch_shard_results(batch=batch)
        missing = sorted(shard for shard, result in results.items() if not result)
        if missing:
            raise JobFailed(f"shards {missing} have no retrain result")
        engine_version = engine.finalize_exact_unlearning(
            platform_object_store(),
            plan,
            [engine.ShardResult.from_dict(r) for r in results.values()],
            dataset_after=loading.engine_dataset(latest),
        )
    except engine.EngineError as error:  # for good: the job.failed event tells the batch
        raise JobFailed(str(error)) from None
    candidate = model_services.model_version_record_sisa(
        model=batch.model,
        engine_version=engine_version,
        trained_on=latest,
        actor=batch.started_by,
        job=context.job(),
        parent=batch.parent_version,
        batch=batch,
        method=engine.EXACT_METHOD,
    )
    candidate_services.batch_candidate_recorded(batch=batch, candidate=candidate)
    return candidate_result(candidate)


def _unlearn_approximate(context, batch, parent, latest) -> ModelVersion:
    model = batch.model
    forget = _forget_records(batch)
    if not forget:
        raise JobFailed("no forget records were kept for this batch; approximate unlearning needs them")
    retain = loading.dataset_records(latest)
    seed = int(model.approximate_params.get("seed", 0)) if isinstance(model.approximate_params.get("seed"), int) else 0
    params = {k: v for k, v in model.approximate_params.items() if k != "seed"}
    identity = {
        "parent": parent.version_id,
        "method": model.approximate_method,
        "params": params,
        "seed": seed,
        "forget": sorted(r.record_id for r in forget),
        "dataset_after": latest.manifest_sha256,
    }
    version_id = "v-" + hashlib.sha256(engine.canonical_json(identity)).hexdigest()[:16]
    existing = ModelVersion.objects.filter(model=model, version_id=version_id).first()
    if existing is not None:
        return existing
    # On a GPU when the worker has one (bfloat16), after a memory estimate that refuses what cannot fit
    # (an EngineError: the batch fails with its message).
    parent_module, tokenizer = loading.load_plain(
        parent, device="auto", memory_job=model.approximate_method, batch_size=int(params.get("batch_size", 8))
    )
    context.progress(0.05, f"{model.approximate_method}: starting")

    def progress(fraction: float, message: str) -> None:
        context.progress(0.05 + 0.85 * fraction, f"{model.approximate_method}: {message}")

    result = engine.unlearn(
        model.approximate_method,
        parent_module,
        forget=forget,
        retain=retain,
        tokenizer=tokenizer,
        params=params,
        seed=seed,
        progress=progress,
    )
    merged = result.merged_model()
    # The candidate's own facts, read from the model it holds (its parent's architecture, by construction).
    provenance = {
        **model_services.model_facts(merged),
        "derived_from": parent.version_id,
        "method": model.approximate_method,
    }
    with tempfile.TemporaryDirectory(prefix="registry-unlearn-") as workdir:
        output = result.save(Path(workdir) / "out")
        if tokenizer is not None:
            tokenizer.save_pretrained(output / "model")
        artifact = engine.upload_dir(
            platform_object_store(),
            f"models/{model.name}/versions/{version_id}/model",
            output / "model",
            weights_digest=engine.weights_digest(merged),
        )
    cost = {"seconds": result.wall_seconds, "steps": result.steps, "params": result.params, "seed": seed}
    return model_services.model_version_record_plain(
        model=model,
        version_id=version_id,
        artifact=artifact.to_dict(),
        trained_on=latest,
        actor=batch.started_by,
        job=context.job(),
        parent=parent,
        batch=batch,
        method=model.approximate_method,
        cost=cost,
        provenance=provenance,
    )


# ------------------------------------------------------------------ verification


def _deactivation_evidence(candidate: ModelVersion) -> dict:
    """The deactivated version's proof, read from both manifests: every shard's checkpoints are a
    prefix of its parent's (the same artifacts, digest for digest), cut before the shard's first
    affected slice; untouched shards are the parent's as they were."""
    mine = model_services.engine_model_version(candidate)
    parent = model_services.engine_model_version(candidate.parent)
    deactivated, reused = {}, {}
    for shard in range(parent.shards):
        own = [c.to_dict() for c in mine.checkpoints[shard]]
        theirs = [c.to_dict() for c in parent.checkpoints[shard]]
        if own != theirs[: len(own)]:
            raise JobFailed(f"shard {shard} of {candidate} is not a prefix of its parent's checkpoints")
        own = [c["weights_digest"] for c in own]
        if len(own) == len(theirs):
            reused[str(shard)] = own[-1] if own else ""
        else:
            deactivated[str(shard)] = {"active_slices": len(own), "checkpoint": own[-1] if own else None}
    if not deactivated:
        raise JobFailed(f"{candidate} deactivates no shard")
    return {
        "method": candidate.method,
        "parent_version": candidate.parent.version_id,
        "retrained_checkpoints": {},
        "deactivated_shards": deactivated,
        "reused_shards": reused,
    }


@job_handler(candidate_services.VERIFY_JOB, queue=GPU_QUEUE)
def verify(context: JobContext) -> dict:
    candidate = (
        ModelVersion.objects.filter(pk=context.params.get("version_id"))
        .select_related("model", "parent__model", "parent__trained_on__dataset", "batch", "trained_on__dataset")
        .first()
    )
    if candidate is None or candidate.parent is None or candidate.batch is None:
        raise JobFailed("only an unlearned candidate (with a parent and a batch) can be verified")
    if candidate.verdict is not None:
        # Recorded by an earlier attempt whose worker died before finishing the job: not again.
        return {
            "passed": candidate.verdict_passed,
            "outcome": verdict_outcome(candidate.verdict),
            "plots": candidate.plots,
        }
    model = candidate.model
    if model.holdout is None:
        raise JobFailed(f"model {model.name} has no holdout dataset (never-seen subjects): register one to verify")
    context.progress(0.02, "loading models and data")
    try:
        forget = _forget_records(candidate.batch)
        if not forget:
            raise JobFailed("no forget records were kept for this batch; cannot verify")
        retain = loading.dataset_records(candidate.trained_on)
        holdout = loading.dataset_records(model.holdout)
        candidate_module, tokenizer = loading.load_for_evaluation(candidate)
        parent_module, _ = loading.load_for_evaluation(candidate.parent)
        # LiRA's calibration: the parent's shards, each OUT for every subject it never held.
        references, reference_summary = [], None
        if candidate.layout == VersionLayout.SISA:
            context.progress(0.04, "loading the parent's shards as LiRA references")
            references, reference_summary = loading.shard_references(candidate.parent, forget)
        # Exact unlearning gives the oracle for free: the candidate is (bit for bit) the model
        # retrained without the erased records, so the AUC targets are its own, not 0.5; and its
        # proof is that construction (retrained checkpoints, untouched shards reused as they were).
        exact = candidate.method in (engine.EXACT_METHOD, engine.DEACTIVATE_METHOD)
        oracle = loading.load_for_evaluation(candidate)[0] if exact else None
        if candidate.method == engine.DEACTIVATE_METHOD:
            exact_evidence = _deactivation_evidence(candidate)
        else:
            exact_evidence = exact_unlearning_evidence(candidate) if exact else None

        def progress(fraction: float, message: str) -> None:
            context.progress(0.05 + 0.85 * fraction, message)

        verdict = engine.verify(
            candidate_module,
            parent_module,
            forget,
            retain,
            holdout,
            oracle=oracle,
            references=references or None,
            tokenizer=tokenizer,
            policy=model.verification_policy or None,
            seed=0,
            progress=progress,
            exact_evidence=exact_evidence,
        )
        context.progress(0.92, "writing the report and plots")
        store = platform_object_store()
        prefix = f"verification/{model.name}/{candidate.version_id}"
        plots = {}
        with tempfile.TemporaryDirectory(prefix="registry-verify-") as workdir:
            files = engine.write_report(verdict, workdir)
            for name, path in files.items():
                key = f"{prefix}/{Path(path).name}"
                store.put_file(key, path)
                if name != "verdict":
                    plots[name] = key
    except engine.EngineError as error:
        raise JobFailed(str(error)) from None
    except ApplicationError as error:
        raise JobFailed(error.message) from None
    verdict_json = verdict.to_json()
    if candidate.method == engine.DEACTIVATE_METHOD:
        verdict_json["oracle"] = (
            "the candidate itself: each active shard is its parent's checkpoint from before the shard's first "
            "affected slice (a shard affected in its first slice is dropped), bit-identical to training "
            "without the erased records"
        )
    elif candidate.method == engine.EXACT_METHOD:
        verdict_json["oracle"] = (
            "the candidate itself: exact unlearning retrains the affected shards deterministically, "
            "bit-identical to training without the erased records"
        )
    if reference_summary is not None:
        verdict_json["references"] = reference_summary
    candidate_services.version_verdict_record(version=candidate, verdict=verdict_json, plots=plots, job=context.job())
    return {
        "passed": verdict.passed,
        "outcome": verdict.outcome,
        "failed_metrics": verdict.failed_metrics,
        "inconclusive_metrics": verdict.inconclusive_metrics,
        "plots": plots,
    }
