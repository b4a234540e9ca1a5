import subprocess

from erasure_platform.core.object_store import platform_object_store
from erasure_platform.subject_requests.services.review import request_complete, request_grant

COMPLETION = {
    "datasets": [
        {
            "dataset": "customers",
            "version_before": "v0001",
            "version_after": "v0002",
            "removed": [
                {"record_id": "subj-0001-bio-1", "content_hash": "a" * 64},
                {"record_id": "subj-0001-qa-1", "content_hash": "b" * 64},
            ],
        }
    ],
    "models": [
        {
            "model": "support-lm",
            "version_before": "1",
            "version_after": "2",
            "method": "sisa_exact",
            "verdict": {"passed": True, "failed_metrics": []},
            "approved_by": "approver",
            "released_at": "2026-11-27T10:00:00+00:00",
        }
    ],
}


def complete(request, officer, completion=COMPLETION):
    request = request_grant(erasure_request=request, officer=officer, reason="identity verified, no exemption")
    return request_complete(payload={"request_id": str(request.id), **completion})


def pdf_text(key: str, tmp_path) -> str:
    path = tmp_path / "document.pdf"
    path.write_bytes(platform_object_store().get_bytes(key))
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
