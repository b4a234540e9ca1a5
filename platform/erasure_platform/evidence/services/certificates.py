"""Certificates of erasure: signed JSON (the evidence) plus a PDF rendering of the same facts."""

from __future__ import annotations

import hashlib
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from erasure_platform.core import topics
from erasure_platform.core.engine import canonical_json, sign_document
from erasure_platform.core.errors import Conflict
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.outbox import outbox_publish
from erasure_platform.evidence.keys import evidence_key_id, evidence_signing_key
from erasure_platform.evidence.models import Certificate
from erasure_platform.evidence.pdf import render_pdf
from erasure_platform.evidence.services.transparency_log import audit_log_proofs_for
from erasure_platform.subject_requests.models import ErasureRequest, RequestStatus

CERTIFICATE_NAMESPACE = uuid.UUID("6f1b8f4e-51a2-4c51-9f7e-6a0f0e7c2b11")


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _completion_event(erasure_request: ErasureRequest, transparency: dict) -> dict:
    for entry in reversed(transparency["events"]):
        if entry["event"]["action"] == "request.completed":
            return {"leaf_index": entry["leaf_index"], "recorded_at": entry["event"]["occurred_at"]}
    raise Conflict(f"request {erasure_request.reference} has no completion event in the audit log")


def certificate_document(
    *, erasure_request: ErasureRequest, certificate_id: uuid.UUID, issued_at, transparency: dict
) -> dict:
    """`transparency`: the request's audit events with inclusion proofs and the signed tree head they lead to."""
    completion = erasure_request.completion_record or {}
    completed_on = timezone.localdate(erasure_request.completed_at)
    return {
        "kind": "certificate-of-erasure",
        "schema_version": 1,
        "certificate_id": str(certificate_id),
        "issued_at": _iso(issued_at),
        "issuer": {"name": settings.EVIDENCE_ISSUER_NAME, "key_id": evidence_key_id()},
        "request": {
            "reference": erasure_request.reference,
            "subject_key": erasure_request.subject_key,
            "jurisdiction": erasure_request.jurisdiction,
            "channel": erasure_request.channel,
            "scope": {"type": erasure_request.scope_type, "record_ids": list(erasure_request.record_ids or [])},
            "received_at": _iso(erasure_request.received_at),
            "identity_verified_at": _iso(erasure_request.identity_verified_at),
            "granted_at": _iso(erasure_request.granted_at),
            "decided_by": erasure_request.decided_by,
            "completed_at": _iso(erasure_request.completed_at),
            "due_on": erasure_request.due_on.isoformat(),
            "extended": erasure_request.extended_at is not None,
            "deadline_met": completed_on <= erasure_request.due_on,
        },
        "datasets": completion.get("datasets", []),
        "models": completion.get("models", []),
        "audit_chain_head": _completion_event(erasure_request, transparency),
        "transparency": transparency,
    }


PUBLIC_KEY_PATH = "/evidence/certificates/public-key.pem"


def verify_offline_steps(key_id: str) -> list[str]:
    """The steps anyone follows to verify a certificate without trusting the platform (PDF and pages say the same)."""
    return [
        "1. Keep the signed certificate (certificate.json, from the same link as this PDF) and download the "
        f"issuer's public key, erasure-public.pem, from {PUBLIC_KEY_PATH} on this platform (key id {key_id}).",
        "2. Install the verifier, the erasure-engine command: pip install erasure-platform "
        "(from the platform's source repository).",
        "3. Run: erasure-engine verify-certificate certificate.json --public-key erasure-public.pem",
        "4. The certificate is genuine when the command prints VALID and ends with 'certificate verified' "
        "(exit status 0); any changed byte makes it fail. LOGGED says the request's events are in the signed, "
        "append-only audit log.",
    ]


def certificate_pdf(document: dict) -> bytes:
    req = document["request"]
    dataset_rows = [["Dataset", "Version before", "Version after", "Records removed"]] + [
        [d.get("dataset", ""), d.get("version_before", ""), d.get("version_after", ""), len(d.get("removed", []))]
        for d in document["datasets"]
    ]
    model_rows = [["Model", "Version before", "Version after", "Method", "Verification"]] + [
        [
            m.get("model", ""),
            m.get("version_before", ""),
            m.get("version_after") or "—",
            m.get("method") or m.get("skipped_reason", ""),
            _proof_cell(m.get("verdict")),
        ]
        for m in document["models"]
    ]
    head = document["audit_chain_head"]
    tree_head = document["transparency"]["sth"]["document"]
    return render_pdf(
        "Certificate of erasure",
        [
            (
                "Request",
                [
                    (
                        "pairs",
                        [
                            ("Reference", req["reference"]),
                            ("Subject key (keyed hash)", req["subject_key"]),
                            ("Jurisdiction", req["jurisdiction"]),
                            ("Scope", req["scope"]["type"]),
                            ("Received", req["received_at"]),
                            ("Granted", req["granted_at"]),
                            ("Completed", req["completed_at"]),
                            ("Due on", req["due_on"]),
                            ("Deadline met", "yes" if req["deadline_met"] else "no"),
                        ],
                    )
                ],
            ),
            ("Datasets", [("table", dataset_rows)]),
            ("Models", [("table", model_rows)]),
            (
                "Evidence",
                [
                    (
                        "pairs",
                        [
                            ("Certificate id", document["certificate_id"]),
                            ("Issued", document["issued_at"]),
                            ("Signing key id", document["issuer"]["key_id"]),
                            ("Completion event (log leaf)", head["leaf_index"]),
                            ("Signed tree head (size)", tree_head["tree_size"]),
                            ("Signed tree head (root)", tree_head["root_hash"]),
                            ("Events proven in the log", len(document["transparency"]["events"])),
                        ],
                    )
                ],
            ),
            (
                "How to verify this certificate offline",
                [("text", step) for step in verify_offline_steps(document["issuer"]["key_id"])],
            ),
        ],
        footer=(
            "This PDF is a rendering. The signed JSON certificate is the evidence: verify it offline with "
            "`erasure-engine verify-certificate certificate.json --public-key erasure-public.pem`."
        ),
    )


def certificate_issue(*, erasure_request: ErasureRequest) -> Certificate:
    """Sign and store the certificate of a completed request. Idempotent per request."""
    with transaction.atomic():
        erasure_request = ErasureRequest.objects.select_for_update().get(pk=erasure_request.pk)
        existing = Certificate.objects.filter(request=erasure_request).first()
        if existing is not None:
            return existing
        if erasure_request.status != RequestStatus.COMPLETED:
            raise Conflict(
                f"request {erasure_request.reference} is {erasure_request.status}: only completed requests get a certificate"
            )
        # A deterministic id makes a retried issuance overwrite the same objects, not add orphans.
        certificate_id = uuid.uuid5(CERTIFICATE_NAMESPACE, str(erasure_request.pk))
        issued_at = timezone.now()
        # Waits for the request's events to be in a signed tree head (folding them itself).
        transparency = audit_log_proofs_for(entity_type="erasure_request", entity_id=erasure_request.pk)
        document = certificate_document(
            erasure_request=erasure_request,
            certificate_id=certificate_id,
            issued_at=issued_at,
            transparency=transparency,
        )
        signed = sign_document(document, evidence_signing_key())
        store = platform_object_store()
        base = f"certificates/{erasure_request.reference}/{certificate_id}"
        # Objects first, row after: the row (and the announcement) only exist once the files do.
        store.put_bytes(f"{base}.json", signed)
        store.put_bytes(f"{base}.pdf", certificate_pdf(document))
        certificate = Certificate.objects.create(
            id=certificate_id,
            request=erasure_request,
            issued_at=issued_at,
            key_id=document["issuer"]["key_id"],
            document_sha256=hashlib.sha256(canonical_json(document)).hexdigest(),
            file_sha256=hashlib.sha256(signed).hexdigest(),
            json_key=f"{base}.json",
            pdf_key=f"{base}.pdf",
        )
        audit_record(
            actor="system:evidence",
            action="certificate.issued",
            entity_type="erasure_request",
            entity_id=erasure_request.pk,
            data={"certificate_id": str(certificate_id), "file_sha256": certificate.file_sha256},
        )
        outbox_publish(
            topic=topics.CERTIFICATE_ISSUED,
            payload={"request_id": str(erasure_request.pk), "certificate_id": str(certificate_id)},
        )
    return certificate


PROOF_LABELS = {
    "exact_by_construction": "exact by construction (retrained without the data)",
    "verified_approximate": "verified approximate (verdict passed)",
    "released_on_inconclusive_with_justification": "released on an INCONCLUSIVE verdict with the approver's justification",
    "released_on_failed_with_override": "released on a FAILED verdict with the approver's override",
}


def _proof_cell(verdict: dict | None) -> str:
    """Which kind of proof stands behind the released model (older records: passed or see record)."""
    if not verdict:
        return "—"
    label = PROOF_LABELS.get(verdict.get("proof") or "")
    if label is None:
        return "passed" if verdict.get("passed") else "see record"
    return f"{label}: {verdict['justification']}" if verdict.get("justification") else label
