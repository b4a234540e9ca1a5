"""Verifying the evidence: the audit chain against its anchors."""

from __future__ import annotations

from dataclasses import dataclass, field

from erasure_engine.errors import EngineError
from erasure_engine.evidence import verify_document
from erasure_platform.core.models import AuditEvent
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.selectors import audit_chain_verify
from erasure_platform.evidence.keys import evidence_key_id, evidence_public_key
from erasure_platform.evidence.services.anchors import ANCHOR_PREFIX


@dataclass
class AnchoredChainVerification:
    ok: bool
    chain: dict
    anchors_checked: int = 0
    last_anchor_sequence: int | None = None
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "chain": self.chain,
            "anchors_checked": self.anchors_checked,
            "last_anchor_sequence": self.last_anchor_sequence,
            "problems": self.problems,
        }


def audit_chain_verify_with_anchors() -> AnchoredChainVerification:
    """The chain must be intact *and* agree with every signed anchor written so far."""
    chain = audit_chain_verify()
    result = AnchoredChainVerification(ok=chain.ok, chain=chain.to_json())
    if not chain.ok:
        result.problems.append(f"chain broken at sequence {chain.first_broken_sequence}: {chain.reason}")
    store = platform_object_store()
    public_key = evidence_public_key()
    for key in store.list_keys(ANCHOR_PREFIX):
        try:
            anchor = verify_document(store.get_bytes(key), public_key).document
        except EngineError as error:
            result.ok = False
            result.problems.append(f"anchor {key} is not valid: {error.message}")
            continue
        result.anchors_checked += 1
        result.last_anchor_sequence = max(result.last_anchor_sequence or 0, anchor["sequence"])
        event = AuditEvent.objects.filter(sequence=anchor["sequence"]).first()
        if event is None:
            result.ok = False
            result.problems.append(
                f"history rewritten: event {anchor['sequence']} was anchored at {anchor['anchored_at']} but no longer exists"
            )
        elif event.hash != anchor["hash"]:
            result.ok = False
            result.problems.append(
                f"history rewritten at or before event {anchor['sequence']}: its hash is {event.hash[:16]}… "
                f"but {anchor['hash'][:16]}… was anchored at {anchor['anchored_at']}"
            )
    return result


def report_list(*, limit: int = 50):
    from erasure_platform.evidence.models import Report

    return list(Report.objects.select_related("job", "request").order_by("-created_at")[:limit])


def report_get(*, report_id):
    from erasure_platform.core.errors import NotFound
    from erasure_platform.evidence.models import Report

    report = Report.objects.select_related("job", "request").filter(pk=report_id).first()
    if report is None:
        raise NotFound(f"report {report_id} does not exist")
    return report


def evidence_file(*, key: str) -> bytes:
    return platform_object_store().get_bytes(key)


def certificate_verification(*, data: bytes) -> dict:
    """Check a signed certificate's exact bytes against the platform's key; never raises."""
    try:
        signed = verify_document(data, evidence_public_key())
    except EngineError as error:
        return {"valid": False, "key_id": evidence_key_id(), "message": error.message}
    return {"valid": True, "key_id": signed.key_id, "message": f"Valid certificate, signed by key {signed.key_id}.",
            "document": signed.document}
