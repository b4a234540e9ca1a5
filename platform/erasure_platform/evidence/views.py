"""Portal pages for evidence: the auditor's chain check and the public certificate checker."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from erasure_platform.accounts.decorators import role_required
from erasure_platform.accounts.roles import Role
from erasure_platform.core.api.throttling import VerifyThrottle, throttle_wait
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.evidence.keys import evidence_key_id, evidence_public_key_pem
from erasure_platform.evidence.models import Certificate
from erasure_platform.evidence.selectors import (
    audit_chain_verify_with_anchors,
    certificate_verification,
    evidence_file,
    report_get,
    report_list,
)
from erasure_platform.evidence.services.reports import default_period, report_request
from erasure_platform.subject_requests.selectors import request_certificate_holder, request_get_by_token

AUDIT_VIEWERS = {Role.AUDITOR, Role.OFFICER}


@role_required(*AUDIT_VIEWERS)
@require_http_methods(["GET", "POST"])
def audit_trail(request):
    result = audit_chain_verify_with_anchors().to_json() if request.method == "POST" else None
    return render(request, "evidence/audit_trail.html", {"result": result})


@require_http_methods(["GET", "POST"])
def certificate_check(request):
    outcome = None
    wait = throttle_wait(request, VerifyThrottle) if request.method == "POST" else None
    if wait is not None:
        outcome = {
            "valid": False,
            "message": f"Too many checks from your address; try again in {int(wait) + 1} seconds.",
        }
    elif request.method == "POST":
        upload = request.FILES.get("certificate")
        if upload is None:
            outcome = {"valid": False, "message": "choose the certificate file (.json) to check"}
        elif upload.size > 1_000_000:
            outcome = {"valid": False, "message": "that file is too large to be a certificate"}
        else:
            outcome = certificate_verification(data=upload.read())
    return render(
        request,
        "evidence/certificate_check.html",
        {"outcome": outcome, "key_id": evidence_key_id(), "public_key_pem": evidence_public_key_pem()},
        status=429 if wait is not None else 200,
    )


class ReportForm(forms.Form):
    period_start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Period start")
    period_end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}), label="Period end")
    request_reference = forms.CharField(required=False, max_length=20, label="…or a single request (reference)")


@role_required(*AUDIT_VIEWERS)
@require_http_methods(["GET", "POST"])
def reports(request):
    if request.method == "POST":
        form = ReportForm(request.POST)
        if form.is_valid():
            try:
                report = report_request(
                    actor=f"user:{request.user.username}", **{k: v or None for k, v in form.cleaned_data.items()}
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                return redirect("evidence:report", report_id=report.id)
    else:
        start, end = default_period(timezone.localdate())
        form = ReportForm(initial={"period_start": start, "period_end": end})
    return render(request, "evidence/reports.html", {"form": form, "reports": report_list()})


@role_required(*AUDIT_VIEWERS)
def report(request, report_id):
    try:
        found = report_get(report_id=report_id)
    except NotFound:
        raise Http404("no such report") from None
    return render(request, "evidence/report.html", {"report": found})


_CONTENT_TYPES = {"json": "application/json", "pdf": "application/pdf"}


def _download(data: bytes, fmt: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=_CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}.{fmt}"'
    response["Cache-Control"] = "no-store"
    return response


@role_required(*AUDIT_VIEWERS)
def report_download(request, report_id, fmt: str):
    try:
        found = report_get(report_id=report_id)
    except NotFound:
        raise Http404("no such report") from None
    key = found.json_key if fmt == "json" else found.pdf_key
    if fmt not in _CONTENT_TYPES or not key:
        raise Http404("this report is not ready")
    return _download(evidence_file(key=key), fmt, f"erasure-report-{found.id}")


def owner_certificate(request, token: str, fmt: str):
    """The owner's certificate, reached only through their unguessable status link."""
    try:
        erasure_request = request_get_by_token(token=token)
    except NotFound:
        raise Http404("not found") from None
    certificate = Certificate.objects.filter(
        request=request_certificate_holder(erasure_request=erasure_request)
    ).first()
    if certificate is None or fmt not in _CONTENT_TYPES:
        raise Http404("no certificate yet")
    key = certificate.json_key if fmt == "json" else certificate.pdf_key
    return _download(evidence_file(key=key), fmt, f"certificate-{erasure_request.reference}")


def public_key_download(request):
    response = HttpResponse(evidence_public_key_pem(), content_type="application/x-pem-file")
    response["Content-Disposition"] = 'attachment; filename="erasure-public.pem"'
    return response
