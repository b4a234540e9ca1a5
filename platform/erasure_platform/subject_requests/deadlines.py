"""Statutory clocks for erasure requests. Pure functions on dates: no Django, no database.

GDPR Art. 12(3): answer "within one month of receipt", extendable "by two further months"
where necessary, the data subject being told of the extension and its reasons within the
first month. A month is a calendar month (Regulation 1182/71 Art. 3(2)(c)): the period ends
on the day of the last month with the same date as the day of receipt, or on that month's
last day when there is no such date (31 January → 28/29 February). It is not "30 days".
The extended period counts from receipt too: receipt + 1 + extension months (≤ 3 in all).
We do not roll a deadline that falls on a weekend forward: answering earlier is always
compliant, later might not be.

CCPA (Cal. Civ. Code §1798.130(a)(2), CCPA Regs §7021): 45 calendar days from receipt,
extendable once by 45 more with notice within the first 45 days; receipt confirmed within
10 business days (§7021(a)). Records of requests are kept at least 24 months (§7101).
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import numpy

GDPR = "GDPR"
CCPA = "CCPA"
JURISDICTIONS = (GDPR, CCPA)

GDPR_RESPONSE_MONTHS = 1
GDPR_MAX_EXTENSION_MONTHS = 2
CCPA_RESPONSE_DAYS = 45
CCPA_MAX_EXTENSION_DAYS = 45
CCPA_CONFIRMATION_BUSINESS_DAYS = 10
RECORD_RETENTION_MONTHS = 24


class DeadlineError(ValueError):
    """An input the statutory rules do not allow (unknown jurisdiction, too long an extension...)."""


def _check_jurisdiction(jurisdiction: str) -> None:
    if jurisdiction not in JURISDICTIONS:
        raise DeadlineError(f"unknown jurisdiction {jurisdiction!r}; use one of {', '.join(JURISDICTIONS)}")


def add_months(day: date, months: int) -> date:
    """The same date `months` calendar months later, clamped to the end of a shorter month."""
    if months < 0:
        raise DeadlineError("months must not be negative")
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def add_business_days(day: date, business_days: int) -> date:
    """`business_days` Monday–Friday days after `day` (public holidays are not modelled)."""
    if business_days < 0:
        raise DeadlineError("business_days must not be negative")
    current = day
    remaining = business_days
    while remaining:
        current += timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def response_due(jurisdiction: str, received_on: date) -> date:
    """The last day on which the controller may answer, without extension."""
    _check_jurisdiction(jurisdiction)
    if jurisdiction == GDPR:
        return add_months(received_on, GDPR_RESPONSE_MONTHS)
    return received_on + timedelta(days=CCPA_RESPONSE_DAYS)


def confirmation_due(jurisdiction: str, received_on: date) -> date:
    """When receipt must be confirmed at the latest (we confirm at once; this is the legal bound)."""
    _check_jurisdiction(jurisdiction)
    if jurisdiction == CCPA:
        return add_business_days(received_on, CCPA_CONFIRMATION_BUSINESS_DAYS)
    # GDPR names no separate confirmation period: "without undue delay", within the month.
    return response_due(jurisdiction, received_on)


def max_extension(jurisdiction: str) -> int:
    """The largest extension: in months for GDPR, in days for CCPA."""
    _check_jurisdiction(jurisdiction)
    return GDPR_MAX_EXTENSION_MONTHS if jurisdiction == GDPR else CCPA_MAX_EXTENSION_DAYS


def extension_unit(jurisdiction: str) -> str:
    _check_jurisdiction(jurisdiction)
    return "months" if jurisdiction == GDPR else "days"


def extended_due(jurisdiction: str, received_on: date, extension: int) -> date:
    """The deadline after one extension of `extension` months (GDPR) or days (CCPA)."""
    _check_jurisdiction(jurisdiction)
    if not isinstance(extension, int) or isinstance(extension, bool) or extension < 1:
        raise DeadlineError("an extension must be a positive whole number")
    limit = max_extension(jurisdiction)
    if extension > limit:
        raise DeadlineError(
            f"a {jurisdiction} deadline can be extended by at most {limit} {extension_unit(jurisdiction)}"
        )
    if jurisdiction == GDPR:
        return add_months(received_on, GDPR_RESPONSE_MONTHS + extension)
    return response_due(jurisdiction, received_on) + timedelta(days=extension)


def extension_refusal(*, jurisdiction: str, received_on: date, today: date, already_extended: bool) -> str | None:
    """Why an extension is not allowed today, or None when it is.

    Only one extension, and it must be decided (and told to the owner) within the first period."""
    _check_jurisdiction(jurisdiction)
    if already_extended:
        return "the deadline has already been extended once; the law allows only one extension"
    first_due = response_due(jurisdiction, received_on)
    if today > first_due:
        period = "one month" if jurisdiction == GDPR else f"{CCPA_RESPONSE_DAYS} days"
        return (
            f"an extension must be notified within the first {period} (by {first_due.isoformat()}); "
            "that window has passed"
        )
    return None


def days_left(due_on: date, today: date) -> int:
    """Whole days until the deadline: 0 on the due day, negative once overdue."""
    return (due_on - today).days


def is_overdue(due_on: date, today: date) -> bool:
    return today > due_on


def due_within(due_on: date, today: date, days: int) -> bool:
    """Not overdue and due within the next `days` days (today included)."""
    return 0 <= (due_on - today).days <= days


def retain_until(closed_on: date) -> date:
    """Request records are kept at least 24 months after the response (CCPA Regs §7101(a))."""
    return add_months(closed_on, RECORD_RETENTION_MONTHS)


def days_to_close(received_on: date, closed_on: date) -> int:
    if closed_on < received_on:
        raise DeadlineError("a request cannot close before it was received")
    return (closed_on - received_on).days


def days_percentile(durations: list[int], percentile: float) -> float | None:
    """A percentile of whole-day durations (numpy's linear interpolation, so the 50th is the usual
    median), None when there is nothing to measure. The one rule behind the dashboard and the reports."""
    if not durations:
        return None
    return float(numpy.percentile(durations, percentile))


def median_days(durations: list[int]) -> float | None:
    """Median of whole-day durations, None when there is nothing to measure."""
    return days_percentile(durations, 50)
