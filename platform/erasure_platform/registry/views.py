"""Portal pages under /ml/: models, versions, candidates with their verdict, jobs, lineage."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.registry import selectors
from erasure_platform.registry.forms import ApproximateMethodForm, DatasetImportForm
from erasure_platform.registry.services import dataset_imports as dataset_import_services
from erasure_platform.registry.services import datasets as dataset_services
from erasure_platform.registry.services import imports as import_services
from erasure_platform.registry.services import models as model_services
from erasure_platform.registry.services import release as release_services
from erasure_platform.subject_requests.selectors import subject_lookup

STAFF = {Role.ML_ENGINEER, Role.RELEASE_APPROVER, Role.AUDITOR, Role.OFFICER}
READS_REQUESTS = {Role.OFFICER, Role.AUDITOR}  # who may open a request's own page


def _staff(request) -> set:
    roles = user_roles(request.user)
    if not roles & STAFF:
        raise DjangoPermissionDenied("staff only")
    return roles


def _get(loader, **kwargs):
    try:
        return loader(**kwargs)
    except NotFound:
        raise Http404 from None


@login_required
def model_list(request):
    roles = _staff(request)
    models = [
        {"model": m, "production": selectors.production_version(model=m), "versions": selectors.model_versions(model=m)}
        for m in selectors.model_list()
    ]
    return render(
        request,
        "registry/model_list.html",
        {"models": models, "roles": roles, "awaiting": selectors.candidates_awaiting_approval()},
    )


@login_required
def model_detail(request, name):
    roles = _staff(request)
    model = _get(selectors.model_get, name=name)
    return render(
        request,
        "registry/model_detail.html",
        {
            "model": model,
            "production": selectors.production_version(model=model),
            "versions": selectors.model_versions(model=model),
            "history": selectors.alias_history(model=model),
            "batches": selectors.batches_for_model(model=model)[:20],
            "consumers": model.consumers.all(),
            "is_engineer": Role.ML_ENGINEER in roles,
            "is_approver": Role.RELEASE_APPROVER in roles,
            "importable": model.kind in import_services.IMPORTABLE_KINDS,
            "training_versions": selectors.training_dataset_versions() if Role.ML_ENGINEER in roles else [],
        },
    )


@login_required
def version_detail(request, pk):
    roles = _staff(request)
    version = _get(selectors.model_version_get, pk=pk)
    return render(
        request,
        "registry/version_detail.html",
        {
            "version": version,
            **selectors.version_verification_state(version=version),
            "verdict": version.verdict,
            "metrics": selectors.verdict_metrics(verdict=version.verdict, kind=version.model.kind),
            "loss_unit": selectors.loss_unit(kind=version.model.kind),
            "cost": selectors.version_cost(cost=version.cost),
            "outcome": selectors.verdict_outcome(version.verdict),
            "proof": selectors.release_proof(version.verdict),
            "decisions": version.decisions.all(),
            "is_approver": Role.RELEASE_APPROVER in roles,
            "reads_requests": bool(roles & READS_REQUESTS),
            "members": selectors.served_requests(version=version),
        },
    )


@login_required
def version_plot(request, pk, name):
    _staff(request)
    version = _get(selectors.model_version_get, pk=pk)
    key = version.plots.get(name)
    if not key:
        raise Http404
    return HttpResponse(platform_object_store().get_bytes(key), content_type="image/png")


@login_required
def job_detail(request, pk):
    _staff(request)
    job = _get(selectors.ml_job_get, job_id=pk)
    return render(
        request,
        "registry/job_detail.html",
        {
            "job": job,
            "percent": round(job.progress * 100),
            "result": selectors.job_result_facts(result=job.result),
            "import_report": selectors.job_import_report(job=job),
        },
    )


@login_required
def lineage(request):
    """Lineage by request reference, identifier or subject key: the identifier is keyed on the
    server and never shown back; engineers see the request's reference and status, nothing personal."""
    _staff(request)
    query = (request.GET.get("q") or request.GET.get("subject_key") or "").strip()
    lookup = result = None
    if query:
        try:
            lookup = subject_lookup(query=query)
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            result = selectors.lineage_for_subject(
                subject_key=lookup.subject_key, record_ids=list(lookup.record_ids) or None
            )
    shown_query = query if lookup is None or lookup.found_by != "identifier" else ""
    return render(request, "registry/lineage.html", {"query": shown_query, "lookup": lookup, "lineage": result})


def _act(request, action, success: str, target: str):
    try:
        action()
        messages.success(request, success)
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect(target)


@login_required
@require_POST
def version_approve(request, pk):
    version = _get(selectors.model_version_get, pk=pk)
    return _act(
        request,
        lambda: release_services.release_approve(
            version=version,
            approver=request.user,
            reason=request.POST.get("reason", ""),
            override_reason=request.POST.get("override_reason", ""),
        ),
        f"Approved {version}: it is now production.",
        f"/ml/versions/{version.pk}/",
    )


@login_required
@require_POST
def version_reject(request, pk):
    version = _get(selectors.model_version_get, pk=pk)
    return _act(
        request,
        lambda: release_services.release_reject(
            version=version, approver=request.user, reason=request.POST.get("reason", "")
        ),
        f"Rejected {version}.",
        f"/ml/versions/{version.pk}/",
    )


@login_required
@require_POST
def model_rollback(request, name):
    model = _get(selectors.model_get, name=name)
    return _act(
        request,
        lambda: release_services.alias_rollback(
            model=model, approver=request.user, reason=request.POST.get("reason", "")
        ),
        "Rolled back production.",
        f"/ml/models/{model.name}/",
    )


@login_required
@require_http_methods(["GET", "POST"])
def model_method(request, name):
    """Choose the model's approximate unlearning method and its parameters (engineers). Changing the
    method in the form re-renders its parameters in place (htmx), with the engine's defaults."""
    roles = _staff(request)
    model = _get(selectors.model_get, name=name)
    if Role.ML_ENGINEER not in roles:
        raise DjangoPermissionDenied("ML engineers choose the unlearning method")
    chosen = request.POST.get("method") or request.GET.get("method") or model.approximate_method
    initial = model.approximate_params if chosen == model.approximate_method else None
    form = ApproximateMethodForm(request.POST or None, method=chosen, initial_params=initial)
    if request.method == "POST" and form.is_valid():
        try:
            model_services.model_update_settings(
                model=model,
                actor=request.user.username,
                approximate_method=form.cleaned_data["method"],
                approximate_params=form.params(),
            )
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, f"{model.name} now unlearns with {form.cleaned_data['method']}.")
            return redirect("registry:model", name=model.name)
    return render(
        request,
        "registry/model_method.html",
        {"model": model, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def model_import(request, name):
    if Role.ML_ENGINEER not in user_roles(request.user):
        raise DjangoPermissionDenied("ML engineers import model versions")
    model = _get(selectors.model_get, name=name)
    started = {}

    def start():
        trained_on = request.POST.get("trained_on", "")
        if not trained_on.isdigit():
            raise ApplicationError("choose the dataset version the model was trained on", code="invalid_dataset")
        started["job"] = import_services.model_version_import_start(
            model=model,
            source=request.POST.get("source", ""),
            trained_on=selectors.dataset_version_get(pk=int(trained_on)),
            actor=request.user.username,
            version_id=request.POST.get("version_id", "").strip() or None,
            make_production=request.POST.get("make_production") == "1",
        )

    response = _act(
        request, start, "Import started: the model is being loaded and validated.", f"/ml/models/{model.name}/"
    )
    if started.get("job") is not None:
        return redirect(f"/ml/jobs/{started['job'].pk}/")
    return response


@login_required
@require_http_methods(["GET", "POST"])
def dataset_list(request):
    """The datasets, their versions and where they came from; engineers register new ones here."""
    roles = _staff(request)
    if request.method == "POST":
        if Role.ML_ENGINEER not in roles:
            raise DjangoPermissionDenied("ML engineers register datasets")
        try:
            dataset = dataset_services.dataset_register(
                name=request.POST.get("name", "").strip(),
                actor=request.user.username,
                purpose=request.POST.get("purpose", "training"),
                description=request.POST.get("description", ""),
            )
        except ApplicationError as error:
            messages.error(request, error.message)
            return redirect("registry:datasets")
        messages.success(request, f"Dataset {dataset.name} registered: import its records next.")
        return redirect("registry:dataset-import", name=dataset.name)
    return render(
        request,
        "registry/dataset_list.html",
        {"datasets": selectors.dataset_summaries(), "is_engineer": Role.ML_ENGINEER in roles},
    )


@login_required
@require_http_methods(["GET", "POST"])
def dataset_import(request, name):
    """Import a team's records into a dataset: pick an allowed source, give the spec, preview the
    first mapped records and the refused rows, then start the import job."""
    roles = _staff(request)
    if Role.ML_ENGINEER not in roles:
        raise DjangoPermissionDenied("ML engineers import datasets")
    dataset = _get(selectors.dataset_get, name=name)
    choices = selectors.dataset_import_choices()
    form = DatasetImportForm(request.POST or None, request.FILES or None, postgres_sources=choices["postgres"])
    preview = None
    if request.method == "POST" and form.is_valid():
        try:
            if request.POST.get("action") == "start":
                job = dataset_import_services.dataset_import_start(
                    dataset=dataset,
                    source=form.source(),
                    spec=form.cleaned_data["spec"],
                    actor=request.user.username,
                    shards=form.cleaned_data.get("shards"),
                    slices=form.cleaned_data.get("slices"),
                    skip_invalid=form.cleaned_data.get("skip_invalid", False),
                )
                messages.success(request, f"Import into {dataset.name} started.")
                return redirect("registry:job", pk=job.pk)
            preview = selectors.dataset_import_preview(source=form.source(), spec=form.cleaned_data["spec"])
        except ApplicationError as error:
            form.add_error(None, error.message)
    return render(
        request,
        "registry/dataset_import.html",
        {
            "dataset": dataset,
            "form": form,
            "preview": preview,
            "choices": choices,
            "latest": dataset_services.dataset_version_latest(dataset=dataset),
        },
    )
