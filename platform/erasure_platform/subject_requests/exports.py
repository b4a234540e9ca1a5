"""The request records (CCPA §7101) as files: CSV for spreadsheets, JSON for machines."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta

from erasure_platform.core.errors import ApplicationError
from erasure_platform.subject_requests.selectors import RECORD_FIELDS, request_records

FORMATS = ("json", "csv")
MAX_PERIOD_DAYS = 3 * 366  # well past the 24 months CCPA asks to keep; bounds one export's size


def records_period(*, start: date | None, end: date | None, today: date) -> tuple[date, date]:
    """The export period: the given bounds, by default the 24 months CCPA asks to keep."""
    end = end or today
    start = start or end - timedelta(days=730)
    if start > end:
        raise ApplicationError(
            "the period starts after it ends", code="invalid_period", details={"start": ["after end"]}
        )
    if (end - start).days > MAX_PERIOD_DAYS:
        raise ApplicationError(
            f"a period of at most {MAX_PERIOD_DAYS} days",
            code="invalid_period",
            details={"start": [f"at most {MAX_PERIOD_DAYS} days before end"]},
        )
    return start, end


def records_file(*, start: date, end: date, file_format: str) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the records of requests received in [start, end]."""
    rows = request_records(start=start, end=end)
    name = f"erasure-requests-{start.isoformat()}-{end.isoformat()}.{file_format}"
    if file_format == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=RECORD_FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: ("" if v is None else v) for k, v in row.items()} for row in rows)
        return buffer.getvalue().encode(), "text/csv; charset=utf-8", name
    if file_format == "json":
        document = {
            "period": {"start": start.isoformat(), "end": end.isoformat()},
            "fields": RECORD_FIELDS,
            "count": len(rows),
            "requests": rows,
        }
        return json.dumps(document, default=str, indent=1).encode(), "application/json", name
    raise ApplicationError(
        f"file_format must be one of {', '.join(FORMATS)}",
        code="invalid_format",
        details={"file_format": [f"one of {', '.join(FORMATS)}"]},
    )
