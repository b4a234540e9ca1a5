"""Values for people: machine slugs become words, long floats become sensible figures."""

from __future__ import annotations

import json
import math

from django import template

register = template.Library()


@register.filter
def label(value) -> str:
    """`awaiting_approval` → "Awaiting approval"; `closer_to_target_is_better` → "Closer to target is better"."""
    text = str(value).replace("_", " ").replace("-", " ").strip()
    return text[:1].upper() + text[1:]


@register.filter
def figure(value, digits: int = 3):
    """A number rounded to `digits` significant digits (integers and non-numbers pass unchanged)."""
    if isinstance(value, bool) or not isinstance(value, float) or not math.isfinite(value):
        return value
    if value == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(value)))
    if -4 <= magnitude < 9:  # plain decimals people read at a glance, thousands separated
        return f"{value:,.{max(0, int(digits) - 1 - magnitude)}f}"
    return f"{value:.{int(digits)}g}"


@register.filter
def job_label(kind: str) -> str:
    """`orchestration.unlearn` → "Unlearn": the job's own name, without the app that runs it."""
    return label(str(kind).rsplit(".", 1)[-1])


@register.filter
def details(data) -> str:
    """An audit event's data for people: `{'due_on': '2027-01-01', 'record_count': 0}` →
    "Due on: 2027-01-01 · Record count: 0"; nested values stay compact JSON."""
    if not isinstance(data, dict):
        return "" if data in (None, "") else str(data)
    parts = []
    for key, value in data.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value, sort_keys=True, default=str)
        parts.append(f"{label(key)}: {figure(value) if isinstance(value, float) else value}")
    return " · ".join(parts) or "—"
