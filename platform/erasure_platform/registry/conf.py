"""Registry settings, read with defaults so the app works before settings.py names them."""

from __future__ import annotations

from django.conf import settings


def batch_window_seconds() -> int:
    """A batch stays open this long after its last new member (sliding window)."""
    return int(getattr(settings, "ERASURE_BATCH_WINDOW_SECONDS", 30 if not settings.PRODUCTION else 6 * 3600))


def batch_max_age_seconds() -> int:
    """A batch never stays open longer than this after it opened."""
    return int(getattr(settings, "ERASURE_BATCH_MAX_AGE_SECONDS", 120 if not settings.PRODUCTION else 3 * 86400))


def batch_deadline_margin_seconds() -> int:
    """Time kept free before the earliest member's deadline for unlearning, verification and approval."""
    return int(getattr(settings, "ERASURE_BATCH_DEADLINE_MARGIN_SECONDS", 60 if not settings.PRODUCTION else 5 * 86400))
