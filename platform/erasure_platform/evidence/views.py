"""Portal pages for evidence: the auditor's chain check and the public certificate checker."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from erasure_engine.errors import EngineError
from erasure_engine.evidence import verify_document
from erasure_platform.accounts.roles import Role
from erasure_platform.accounts.selectors import user_roles
from erasure_platform.evidence.keys import evidence_key_id, evidence_public_key, evidence_public_key_pem
from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors

AUDIT_VIEWERS = {Role.AUDITOR, Role.OFFICER}


@login_required
@require_http_methods(["GET", "POST"])
def audit_trail(request):
    if not user_roles(request.user) & AUDIT_VIEWERS:
        raise PermissionDenied
    result = audit_chain_verify_with_anchors().to_json() if request.method == "POST" else None
    return render(request, "evidence/audit_trail.html", {"result": result})


@require_http_methods(["GET", "POST"])
def certificate_check(request):
    outcome = None
    if request.method == "POST":
        upload = request.FILES.get("certificate")
        if upload is None:
            outcome = {"valid": False, "message": "choose the certificate file (.json) to check"}
        elif upload.size > 1_000_000:
            outcome = {"valid": False, "message": "that file is too large to be a certificate"}
        else:
            try:
                signed = verify_document(upload.read(), evidence_public_key())
                outcome = {"valid": True, "message": f"Valid certificate, signed by key {signed.key_id}.", "document": signed.document}
            except EngineError as error:
                outcome = {"valid": False, "message": error.message}
    return render(
        request,
        "evidence/certificate_check.html",
        {"outcome": outcome, "key_id": evidence_key_id(), "public_key_pem": evidence_public_key_pem()},
    )
