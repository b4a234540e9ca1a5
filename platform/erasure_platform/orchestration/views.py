"""Orchestration's portal actions (pages that show batches live with the model, in registry)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.orchestration.services.batches import unlearning_start_now
from erasure_platform.registry.selectors import model_get


@login_required
@require_POST
def model_unlearn_now(request, name):
    """An engineer starts unlearning now; they follow the job's live progress page."""
    try:
        model = model_get(name=name)
    except NotFound:
        raise Http404 from None
    try:
        batch = unlearning_start_now(model=model, engineer=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect(f"/ml/models/{model.name}/")
    messages.success(request, "Unlearning started.")
    return redirect(f"/ml/jobs/{batch.unlearn_job_id}/" if batch.unlearn_job_id else f"/ml/models/{model.name}/")
