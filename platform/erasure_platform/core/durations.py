"""One way to say how long something took, for people."""

from __future__ import annotations

_UNITS = ((86400, "days"), (3600, "hours"), (60, "minutes"))


def duration(seconds) -> tuple[float, str]:
    """(value, unit) in the largest unit that keeps the value at 1.5 or above: 90 s → (1.5, "minutes")."""
    seconds = float(seconds)
    for size, unit in _UNITS:
        if abs(seconds) >= size * 1.5:
            return seconds / size, unit
    return seconds, "seconds"


def duration_text(seconds) -> str:
    value, unit = duration(seconds)
    return f"{value:.1f} {unit}"
