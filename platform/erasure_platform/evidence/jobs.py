"""Evidence jobs.

evidence.report  (default queue)  compute, sign and store a regulator or request report
"""

from __future__ import annotations

from erasure_platform.core.queues import DEFAULT_QUEUE
from erasure_platform.core.services.jobs import JobContext, JobFailed, job_handler
from erasure_platform.evidence.models import Report
from erasure_platform.evidence.services.reports import REPORT_JOB, report_build


@job_handler(REPORT_JOB, queue=DEFAULT_QUEUE)
def build_report(context: JobContext) -> dict:
    report = Report.objects.filter(pk=context.params.get("report_id")).first()
    if report is None:
        raise JobFailed(f"report {context.params.get('report_id')} does not exist")
    return report_build(report=report, progress=context.progress)
