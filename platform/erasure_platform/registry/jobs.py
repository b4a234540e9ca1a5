"""Registry jobs. Handlers call the engine, heartbeat through context.progress and checkpoint
with context.save_state, so a retry after a crash resumes after the last finished step.

registry.train   (gpu)  SISA training of a model version on a dataset version
registry.import  (gpu)  validate (load) and record a model version trained elsewhere
registry.dataset_import (default)  import a team's records (files, S3, PostgreSQL) as a dataset version
registry.identity_map_import (default)  import which identifiers are one person's, as key pairs
"""

from __future__ import annotations

import time

from django.conf import settings

from erasure_platform.core import engine
from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.queues import DEFAULT_QUEUE, GPU_QUEUE
from erasure_platform.core.services.jobs import JobContext, JobFailed, SampleProgress, job_handler
from erasure_platform.registry.loading import engine_dataset
from erasure_platform.registry.models import Dataset, DatasetVersion, IdentityMap, Model
from erasure_platform.registry.services import dataset_imports as dataset_import_services
from erasure_platform.registry.services import identity_maps as identity_map_services
from erasure_platform.registry.services import imports as import_services
from erasure_platform.registry.services import models as model_services

# General sentences (no subject in them) that a language model's tokenizer and shared base learn
# from, with settings.LM_BASE_PUBLIC_PERSONS public persons' texts.
GENERAL_TEXT_RECORDS = 400


@job_handler(model_services.TRAIN_JOB, queue=GPU_QUEUE)
def train(context: JobContext) -> dict:
    model = Model.objects.filter(pk=context.params.get("model_id")).first()
    dataset_version = (
        DatasetVersion.objects.filter(pk=context.params.get("dataset_version_id")).select_related("dataset").first()
    )
    if model is None or dataset_version is None:
        raise JobFailed("the model or the dataset version no longer exists")
    store = platform_object_store()
    try:
        config = engine.SisaConfig.from_dict(context.params.get("config") or {"kind": model.kind})
        dataset = engine_dataset(dataset_version)
        if "plan" not in context.state:
            general, shared = None, None
            if context.params.get("base"):
                context.progress(0.02, "storing the team's pretrained base (once, by digest)")
                shared = engine.store_pretrained_base(
                    store,
                    model.name,
                    context.params["base"]["location"],
                    endpoint_url=settings.OBJECT_STORE_ENDPOINT_URL,
                )
            elif config.kind != "classifier":
                context.progress(0.02, "planning (tokenizer, base model)")
                general = engine.base_model_texts(
                    general=GENERAL_TEXT_RECORDS, public_persons=settings.LM_BASE_PUBLIC_PERSONS, seed=0
                )
            plan = engine.plan_training(store, model.name, dataset, config, general_texts=general, shared_assets=shared)
            context.save_state(plan=plan.to_dict(), results={})
        plan = engine.TrainingPlan.from_dict(context.state["plan"])
        assets = engine.load_assets(store, plan.assets)
        results = dict(context.state.get("results", {}))
        counter = SampleProgress(context, engine.planned_samples(dataset, config), 0.05, 0.95, "training shards")
        for shard in range(plan.shards):
            if str(shard) in results:
                continue
            counter.message = f"training shard {shard + 1} of {plan.shards}"
            context.progress(0.05 + 0.9 * shard / plan.shards, counter.message)
            result = engine.train_shard(store, plan, dataset, shard, assets=assets, progress=counter)
            results[str(shard)] = result.to_dict()
            context.save_state(results=results)
        engine_version = engine.finalize_training(
            store, plan, [engine.ShardResult.from_dict(r) for r in results.values()]
        )
    except engine.EngineError as error:
        raise JobFailed(str(error)) from None
    job = context.job()
    version = model_services.model_version_record_sisa(
        model=model,
        engine_version=engine_version,
        trained_on=dataset_version,
        actor=job.created_by if job else "system",
        job=job,
        method="train",
    )
    return {"model_version": str(version.pk), "version_id": version.version_id, "cost": engine_version.cost}


@job_handler(import_services.IMPORT_JOB, queue=GPU_QUEUE)
def import_version(context: JobContext) -> dict:
    model = Model.objects.filter(pk=context.params.get("model_id")).first()
    trained_on = (
        DatasetVersion.objects.filter(pk=context.params.get("dataset_version_id")).select_related("dataset").first()
    )
    if model is None or trained_on is None:
        raise JobFailed("the model or the dataset version no longer exists")
    context.progress(0.05, f"loading {context.params['source']} to validate it")
    job = context.job()
    try:
        version = import_services.model_version_import(
            model=model,
            source=context.params["source"],
            trained_on=trained_on,
            actor=job.created_by if job else "system",
            version_id=context.params.get("version_id"),
            make_production=bool(context.params.get("make_production")),
            job=job,
        )
    except ApplicationError as error:
        raise JobFailed(error.message) from None
    return {"model_version": str(version.pk), "version_id": version.version_id, "provenance": version.provenance}


@job_handler(dataset_import_services.DATASET_IMPORT_JOB, queue=DEFAULT_QUEUE)
def import_dataset(context: JobContext) -> dict:
    """Progress counts rows; a refused import keeps its report (the rows at fault) in the job's
    state for the job page, and fails. Re-run after a crash, the import finds its rows already
    there and registers the version it made."""
    dataset = Dataset.objects.filter(pk=context.params.get("dataset_id")).first()
    if dataset is None:
        raise JobFailed("the dataset no longer exists")
    last = [0.0]

    def progress(rows: int, refused: int) -> None:
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[0] = now
            context.progress(0.5, f"{rows:,} rows read, {refused:,} refused")

    job = context.job()
    context.progress(0.02, "reading the source")
    report, version = dataset_import_services.dataset_import_run(
        dataset=dataset, params=context.params, actor=job.created_by if job else "system", progress=progress
    )
    context.save_state(import_report=report)
    if version is None:
        shown = report["refused"][0]
        raise JobFailed(
            f"import refused: {report['refused_count']:,} of {report['rows_read']:,} rows cannot be records "
            f"(first: {shown['file']} row {shown['row']}, {shown['column'] or 'the row'}: {shown['reason']}); "
            "nothing was written. Fix the rows, or import with skip_invalid to leave them out"
        )
    return {
        "dataset_version": version.pk,
        "version_id": version.version_id,
        "records": report["records"],
        "imported": report["imported"],
        "unchanged": report["unchanged"],
        "subjects": report["subjects"],
        "skipped_rows": report["refused_count"],
        "seconds": report["seconds"],
    }


@job_handler(identity_map_services.IDENTITY_MAP_IMPORT_JOB, queue=DEFAULT_QUEUE)
def import_identity_map(context: JobContext) -> dict:
    """Replace a map's links with its source's; a refused import keeps its report and fails."""
    identity_map = IdentityMap.objects.filter(pk=context.params.get("map_id")).first()
    if identity_map is None:
        raise JobFailed("the identity map no longer exists")
    job = context.job()
    context.progress(0.05, "reading the source")
    summary = identity_map_services.identity_map_import_run(
        identity_map=identity_map, params=context.params, actor=job.created_by if job else "system"
    )
    context.save_state(import_report=summary)
    if not summary["accepted"]:
        shown = summary["refused"][0]
        raise JobFailed(
            f"identity map import refused: {summary['refused_count']:,} of {summary['rows_read']:,} rows link "
            f"nothing or are malformed (first: {shown['file']} row {shown['row']}: {shown['reason']}); "
            "the map is unchanged"
        )
    return {
        "identity_map": identity_map.name,
        "links": summary["links"],
        "people": summary["people"],
        "skipped_rows": summary["refused_count"],
    }
