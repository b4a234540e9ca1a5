"""Portal pages under /ml/: models, versions, candidates with their verdict, jobs, lineage."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.selectors import job_get
from erasure_platform.registry import selectors
from erasure_platform.registry.services import batches as batch_services
from erasure_platform.registry.services import release as release_services

STAFF = {Role.ML_ENGINEER, Role.RELEASE_APPROVER, Role.AUDITOR, Role.OFFICER}


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
    models = [{"model": m, "production": selectors.production_version(model=m),
               "versions": selectors.model_versions(model=m)} for m in selectors.model_list()]
    return render(request, "registry/model_list.html", {"models": models, "roles": roles,
                                                        "awaiting": selectors.candidates_awaiting_approval()})


@login_required
def model_detail(request, name):
    roles = _staff(request)
    model = _get(selectors.model_get, name=name)
    return render(request, "registry/model_detail.html", {
        "model": model, "production": selectors.production_version(model=model),
        "versions": selectors.model_versions(model=model), "history": selectors.alias_history(model=model),
        "batches": selectors.batches_for_model(model=model)[:20], "consumers": model.consumers.all(),
        "is_engineer": Role.ML_ENGINEER in roles, "is_approver": Role.RELEASE_APPROVER in roles,
    })


@login_required
def version_detail(request, pk):
    roles = _staff(request)
    version = _get(selectors.model_version_get, pk=pk)
    return render(request, "registry/version_detail.html", {
        "version": version, "verdict": version.verdict, "metrics": (version.verdict or {}).get("metrics", []),
        "outcome": selectors.verdict_outcome(version.verdict), "proof": selectors.release_proof(version.verdict),
        "decisions": version.decisions.all(), "is_approver": Role.RELEASE_APPROVER in roles,
        "members": version.batch.members.select_related("plan") if version.batch_id else [],
    })


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
    job = job_get(job_id=pk)
    if job is None or not job.kind.startswith("registry."):
        raise Http404
    return render(request, "registry/job_detail.html", {"job": job, "percent": round(job.progress * 100)})


@login_required
def lineage(request):
    _staff(request)
    subject_key = (request.GET.get("subject_key") or "").strip().lower()
    result = None
    if subject_key:
        if len(subject_key) != 64 or any(c not in "0123456789abcdef" for c in subject_key):
            messages.error(request, "A subject key is 64 hexadecimal characters.")
        else:
            result = selectors.lineage_for_subject(subject_key=subject_key)
    return render(request, "registry/lineage.html", {"subject_key": subject_key, "lineage": result})


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
    return _act(request, lambda: release_services.release_approve(
        version=version, approver=request.user, reason=request.POST.get("reason", ""),
        override_reason=request.POST.get("override_reason", "")),
        f"Approved {version}: it is now production.", f"/ml/versions/{version.pk}/")


@login_required
@require_POST
def version_reject(request, pk):
    version = _get(selectors.model_version_get, pk=pk)
    return _act(request, lambda: release_services.release_reject(version=version, approver=request.user,
                                                                 reason=request.POST.get("reason", "")),
                f"Rejected {version}.", f"/ml/versions/{version.pk}/")


@login_required
@require_POST
def model_rollback(request, name):
    model = _get(selectors.model_get, name=name)
    return _act(request, lambda: release_services.alias_rollback(model=model, approver=request.user,
                                                                 reason=request.POST.get("reason", "")),
                "Rolled back production.", f"/ml/models/{model.name}/")


@login_required
@require_POST
def model_unlearn_now(request, name):
    model = _get(selectors.model_get, name=name)
    started = {}

    def start():
        started["batch"] = batch_services.unlearning_start_now(model=model, engineer=request.user)

    response = _act(request, start, "Unlearning started.", f"/ml/models/{model.name}/")
    if started.get("batch") is not None and started["batch"].unlearn_job_id:
        return redirect(f"/ml/jobs/{started['batch'].unlearn_job_id}/")
    return response
