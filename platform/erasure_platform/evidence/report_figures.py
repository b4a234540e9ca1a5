"""Regulator report figures, computed once into JSON; the PDF renders that JSON.

Days to close = calendar days from receipt to the response (completion, refusal or
duplicate notice). Percentiles use the nearest-rank method, so every reported figure is
one actual request's value.
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.utils import timezone

from erasure_platform.subject_requests.deadlines import days_percentile
from erasure_platform.subject_requests.grounds import ground_label
from erasure_platform.subject_requests.models import ANSWERED_STATUSES, OPEN_STATUSES, ErasureRequest, RequestStatus

REPORT_SCHEMA_VERSION = 1


def _responded_on(erasure_request: ErasureRequest) -> date | None:
    return timezone.localdate(erasure_request.responded_at) if erasure_request.responded_at else None


def request_facts(erasure_request: ErasureRequest, today: date) -> dict:
    responded_on = _responded_on(erasure_request)
    return {
        "reference": erasure_request.reference,
        "subject_key": erasure_request.subject_key,
        "jurisdiction": erasure_request.jurisdiction,
        "channel": erasure_request.channel,
        "nature": erasure_request.nature,
        "status": erasure_request.status,
        "received_on": erasure_request.received_on.isoformat(),
        "due_on": erasure_request.due_on.isoformat(),
        "original_due_on": erasure_request.original_due_on.isoformat(),
        "extended": erasure_request.is_extended,
        "extension_reason": erasure_request.extension_reason or None,
        "responded_on": responded_on.isoformat() if responded_on else None,
        "response_nature": erasure_request.response_nature or None,
        "refusal_ground": erasure_request.refusal_ground or None,
        "refusal_ground_label": ground_label(erasure_request.jurisdiction, erasure_request.refusal_ground)
        if erasure_request.refusal_ground
        else None,
        "days_to_close": (responded_on - erasure_request.received_on).days if responded_on else None,
        "deadline_met": (responded_on <= erasure_request.due_on) if responded_on else (today <= erasure_request.due_on),
        "overdue": responded_on is None and today > erasure_request.due_on,
        "models": (erasure_request.completion_record or {}).get("models", []),
        "datasets": [
            {key: value for key, value in dataset.items() if key != "removed"}
            | {"records_removed": len(dataset.get("removed", []))}
            for dataset in (erasure_request.completion_record or {}).get("datasets", [])
        ],
    }


def report_figures(requests: list[ErasureRequest], *, today: date) -> dict:
    facts = [request_facts(request, today) for request in requests]
    closed = [fact for fact in facts if fact["status"] in ANSWERED_STATUSES and fact["days_to_close"] is not None]
    days = [fact["days_to_close"] for fact in closed]
    met = [fact for fact in closed if fact["deadline_met"]]
    refusals = [fact for fact in facts if fact["status"] == RequestStatus.REFUSED]
    models = [{"request": fact["reference"], **model} for fact in facts for model in fact["models"]]
    return {
        "counts": {
            "total": len(facts),
            "by_status": dict(sorted(Counter(fact["status"] for fact in facts).items())),
            "by_jurisdiction": dict(sorted(Counter(fact["jurisdiction"] for fact in facts).items())),
            "open": sum(1 for fact in facts if fact["status"] in OPEN_STATUSES),
            "overdue": sum(1 for fact in facts if fact["overdue"]),
        },
        "deadlines": {
            "closed": len(closed),
            "met": len(met),
            "share_met": round(len(met) / len(closed), 4) if closed else None,
            "median_days_to_close": days_percentile(days, 50),
            "p95_days_to_close": days_percentile(days, 95),
        },
        "extensions": [
            {
                "reference": f["reference"],
                "reason": f["extension_reason"],
                "due_on": f["due_on"],
                "original_due_on": f["original_due_on"],
            }
            for f in facts
            if f["extended"]
        ],
        "refusals": [
            {
                "reference": f["reference"],
                "jurisdiction": f["jurisdiction"],
                "ground": f["refusal_ground"],
                "ground_label": f["refusal_ground_label"],
            }
            for f in refusals
        ],
        "refusals_by_ground": dict(sorted(Counter(f["refusal_ground"] for f in refusals).items())),
        "models_unlearned": models,
        "requests": facts,
    }
