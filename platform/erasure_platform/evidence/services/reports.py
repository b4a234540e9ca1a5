"""Regulator reports: requested by staff, built by a background job, stored signed."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from erasure_platform.core.engine import sign_document
from erasure_platform.core.errors import ApplicationError, NotFound
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_record
from erasure_platform.core.services.jobs import job_create
from erasure_platform.evidence.keys import evidence_signing_key
from erasure_platform.evidence.models import Report
from erasure_platform.evidence.pdf import render_pdf
from erasure_platform.evidence.report_figures import REPORT_SCHEMA_VERSION, report_figures
from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors
from erasure_platform.registry.selectors import model_version_by_engine_id, verdict_outcome
from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.selectors import requests_received_between

REPORT_JOB = "evidence.report"
MAX_PERIOD_DAYS = 3 * 366


def report_request(
    *,
    actor: str,
    period_start: date | None = None,
    period_end: date | None = None,
    request_reference: str | None = None,
) -> Report:
    """Ask for a period report (inclusive dates) or a single-request report; a job builds it."""
    if request_reference:
        request = ErasureRequest.objects.filter(reference=request_reference).first()
        if request is None:
            raise NotFound(f"no request with reference {request_reference!r}")
        kind, fields = Report.Kind.REQUEST, {"request": request}
    else:
        if period_start is None or period_end is None:
            raise ApplicationError("give a period (start and end dates) or a request reference", code="invalid_report")
        if period_end < period_start:
            raise ApplicationError("the period ends before it starts", code="invalid_period")
        if (period_end - period_start).days > MAX_PERIOD_DAYS:
            raise ApplicationError("a report covers at most three years", code="invalid_period")
        kind, fields = Report.Kind.PERIOD, {"period_start": period_start, "period_end": period_end}
    with transaction.atomic():
        report = Report.objects.create(kind=kind, requested_by=actor, **fields)
        report.job = job_create(kind=REPORT_JOB, params={"report_id": str(report.id)}, actor=actor)
        report.save(update_fields=["job"])
        audit_record(
            actor=actor,
            action="report.requested",
            entity_type="report",
            entity_id=report.id,
            data={
                "kind": kind,
                **{k: str(v) for k, v in fields.items() if k != "request"},
                "request": request_reference,
            },
        )
    return report


def _requests_for(report: Report) -> list[ErasureRequest]:
    if report.kind == Report.Kind.REQUEST:
        return [report.request]
    return list(
        ErasureRequest.objects.filter(
            received_on__gte=report.period_start, received_on__lte=report.period_end
        ).order_by("received_at")
    )


def days_chart_axis(days: list[int]) -> tuple[list[float], tuple[float, float]]:
    """Whole days: one bar per day from 0 to the longest (bin edges at half days), and an x axis
    that starts at day 0 and shows at least the first five days — never a negative range."""
    longest = max(days)
    return [day - 0.5 for day in range(longest + 2)], (-0.5, max(longest, 5) + 0.5)


def _days_chart(figures: dict) -> bytes | None:
    days = [fact["days_to_close"] for fact in figures["requests"] if fact["days_to_close"] is not None]
    if not days:
        return None
    # matplotlib takes about half a second to import: only the report job pays for it.
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    bins, limits = days_chart_axis(days)
    figure, axis = plt.subplots(figsize=(6, 3.5), dpi=110)
    axis.hist(days, bins=bins, color="#1f5fbf", rwidth=0.85)
    axis.set_xlim(*limits)
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))
    axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    axis.set_xlabel("days from receipt to response")
    axis.set_ylabel("requests")
    axis.set_title("Days to close")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return buffer.getvalue()


# Headline verification metrics shown per released model version (all metrics stay in the JSON).
# Names the engine emits (erasure_engine.verification.metric_names; a test holds the two sides together).
# A classifier has accuracy, a language model perplexity: a row shows "—" for the other kind's metric.
REPORT_METRICS = {  # name → short column label for the PDF
    "membership.loss.auc": "MIA AUC",
    "membership.loss.subject_auc": "Subject AUC",
    "oracle.forget_quality": "Forget quality",
    "oracle.privleak": "PrivLeak",
    "utility.retain_accuracy_drop": "Accuracy drop",
    "utility.retain_perplexity_increase": "Perplexity increase",
}
MAX_REPORT_PLOTS = 6


def verification_figures(figures: dict) -> tuple[list[dict], list[tuple[str, bytes]]]:
    """The released versions' verdicts (headline metrics) and their ROC plots, for the report."""
    rows, plots = [], []
    store = platform_object_store()
    for entry in figures["models_unlearned"]:
        if not entry.get("version_after"):
            continue
        version = model_version_by_engine_id(model_name=entry["model"], version_id=entry["version_after"])
        if version is None or not version.verdict:
            continue
        metrics = {metric["name"]: metric for metric in version.verdict.get("metrics", [])}
        rows.append(
            {
                "request": entry["request"],
                "model": entry["model"],
                "version": entry["version_after"],
                "passed": version.verdict.get("passed"),
                "outcome": verdict_outcome(version.verdict),
                "metrics": {
                    name: {
                        "value": metrics[name]["value"],
                        "threshold": metrics[name].get("threshold"),
                        "passed": metrics[name].get("passed"),
                        **({"outcome": metrics[name]["outcome"]} if "outcome" in metrics[name] else {}),
                    }
                    for name in REPORT_METRICS
                    if name in metrics
                },
            }
        )
        roc_key = (version.plots or {}).get("membership_roc")
        if roc_key and len(plots) < MAX_REPORT_PLOTS and store.exists(roc_key):
            plots.append(
                (f"{entry['model']} {entry['version_after']}: membership attack ROC", store.get_bytes(roc_key))
            )
    return rows, plots


def report_pdf(document: dict, chart_png: bytes | None, roc_plots: list[tuple[str, bytes]] = ()) -> bytes:
    figures = document["figures"]
    counts, deadlines = figures["counts"], figures["deadlines"]
    scope = document["scope"]
    title = (
        f"Erasure requests report {scope['period_start']} to {scope['period_end']}"
        if scope["kind"] == "period"
        else f"Erasure request report {scope['request']}"
    )
    share = deadlines["share_met"]
    sections = [
        (
            "Summary",
            [
                (
                    "pairs",
                    [
                        ("Requests", counts["total"]),
                        ("Open", counts["open"]),
                        ("Overdue", counts["overdue"]),
                        *[(f"Status: {status}", n) for status, n in counts["by_status"].items()],
                        *[(f"Jurisdiction: {j}", n) for j, n in counts["by_jurisdiction"].items()],
                    ],
                )
            ],
        ),
        (
            "Deadlines",
            [
                (
                    "pairs",
                    [
                        ("Closed requests", deadlines["closed"]),
                        ("Deadlines met", deadlines["met"]),
                        ("Share of deadlines met", f"{share * 100:.1f}%" if share is not None else "n/a"),
                        ("Median days to close", deadlines["median_days_to_close"]),
                        ("95th percentile days to close", deadlines["p95_days_to_close"]),
                    ],
                )
            ],
        ),
        (
            "Extensions",
            [
                (
                    "table",
                    [["Request", "Original due", "Extended to", "Reason"]]
                    + [
                        [e["reference"], e["original_due_on"], e["due_on"], e["reason"] or ""]
                        for e in figures["extensions"]
                    ],
                )
            ]
            if figures["extensions"]
            else [("text", "No extensions.")],
        ),
        (
            "Refusals",
            [
                (
                    "table",
                    [["Request", "Jurisdiction", "Ground"]]
                    + [
                        [r["reference"], r["jurisdiction"], r["ground_label"] or r["ground"]]
                        for r in figures["refusals"]
                    ],
                )
            ]
            if figures["refusals"]
            else [("text", "No refusals.")],
        ),
        (
            "Models unlearned",
            [
                (
                    "table",
                    [["Request", "Model", "Before", "After", "Method", "Verdict"]]
                    + [
                        [
                            m["request"],
                            m.get("model", ""),
                            m.get("version_before", ""),
                            m.get("version_after") or "—",
                            m.get("method") or m.get("skipped_reason", ""),
                            _outcome_cell(m.get("verdict")),
                        ]
                        for m in figures["models_unlearned"]
                    ],
                )
            ]
            if figures["models_unlearned"]
            else [("text", "No model was unlearned.")],
        ),
    ]
    verification = document["verification"]
    sections.append(
        (
            "Verification of released models",
            [
                (
                    "table",
                    [["Request", "Model version", "Verdict", *REPORT_METRICS.values()]]
                    + [
                        [
                            row["request"],
                            f"{row['model']} {row['version']}",
                            _outcome_cell(row),
                            *[_metric_cell(row["metrics"].get(name)) for name in REPORT_METRICS],
                        ]
                        for row in verification
                    ],
                )
            ]
            if verification
            else [("text", "No verified model version in this report.")],
        )
    )
    for caption, png in roc_plots:
        sections.append((caption, [("image", png)]))
    if chart_png:
        sections.append(("Days to close", [("image", chart_png)]))
    audit = document["audit_chain"]
    sections.append(
        (
            "Audit trail",
            [
                (
                    "pairs",
                    [
                        ("Chain verified", "intact" if audit["ok"] else "BROKEN"),
                        ("Events checked", audit["chain"]["events_checked"]),
                        ("Head hash", audit["chain"]["head_hash"]),
                        ("Signed anchors checked", audit["anchors_checked"]),
                    ],
                )
            ],
        )
    )
    return render_pdf(
        title,
        sections,
        footer=f"Report {document['report_id']} generated {document['generated_at']}. The signed JSON twin holds the same figures.",
    )


def _metric_cell(metric: dict | None) -> str:
    if not metric or metric["value"] is None:
        return "—"
    if metric.get("outcome") == "inconclusive":
        return f"{metric['value']:.3f} INCONCLUSIVE"
    verdict = "" if metric["passed"] is None else (" ok" if metric["passed"] else " FAIL")
    return f"{metric['value']:.3f}{verdict}"


def _outcome_cell(verdict: dict | None) -> str:
    """passed / failed / INCONCLUSIVE (distinct: the suite could not tell), or — without a verdict."""
    if not verdict:
        return "—"
    outcome = verdict.get("outcome") or ("passed" if verdict.get("passed") else "failed")
    return "INCONCLUSIVE" if outcome == "inconclusive" else outcome


def report_build(*, report: Report, progress: Callable[[float, str], None]) -> dict:
    """Compute, sign and store a report's JSON and PDF (the report job's work)."""
    progress(0.1, "collecting requests")
    figures = report_figures(_requests_for(report), today=timezone.localdate())
    progress(0.3, "collecting verification results")
    verification, roc_plots = verification_figures(figures)
    progress(0.5, "verifying the audit chain")
    audit = audit_chain_verify_with_anchors().to_json()
    document = {
        "kind": "regulator-report",
        "schema_version": REPORT_SCHEMA_VERSION,
        "report_id": str(report.id),
        "generated_at": timezone.now().isoformat(),
        "scope": {
            "kind": report.kind,
            "period_start": report.period_start.isoformat() if report.period_start else None,
            "period_end": report.period_end.isoformat() if report.period_end else None,
            "request": report.request.reference if report.request_id else None,
        },
        "figures": figures,
        "verification": verification,
        "audit_chain": audit,
    }
    progress(0.7, "rendering the PDF")
    signed = sign_document(document, evidence_signing_key())
    pdf = report_pdf(document, _days_chart(figures), roc_plots)
    store = platform_object_store()
    base = f"reports/{report.id}"
    json_info = store.put_bytes(f"{base}.json", signed)
    store.put_bytes(f"{base}.pdf", pdf)
    with transaction.atomic():
        Report.objects.filter(pk=report.pk).update(
            json_key=f"{base}.json", pdf_key=f"{base}.pdf", json_sha256=json_info.sha256
        )
        audit_record(
            actor="system:evidence",
            action="report.generated",
            entity_type="report",
            entity_id=report.id,
            data={"json_sha256": json_info.sha256, "requests": figures["counts"]["total"]},
        )
    return {"report_id": str(report.id), "requests": figures["counts"]["total"], "json_sha256": json_info.sha256}


def default_period(today: date) -> tuple[date, date]:
    """The previous calendar month when it holds requests (the usual regulator period), otherwise
    this month so far — so that a report asked for on a young deployment is never empty by default."""
    first_this_month = today.replace(day=1)
    last_month_end = first_this_month - timedelta(days=1)
    previous = (last_month_end.replace(day=1), last_month_end)
    if requests_received_between(start=previous[0], end=previous[1]):
        return previous
    return first_this_month, today
