"""Batching settings (defined, with their environment variables, in settings.py)."""

from __future__ import annotations

from django.conf import settings


def batch_window_seconds() -> int:
    """A batch stays open this long after its last new member (sliding window)."""
    return settings.ERASURE_BATCH_WINDOW_SECONDS


def batch_max_age_seconds() -> int:
    """A batch never stays open longer than this after it opened."""
    return settings.ERASURE_BATCH_MAX_AGE_SECONDS


def batch_deadline_margin_seconds() -> int:
    """Time kept free before the earliest member's deadline for unlearning, verification and approval."""
    return settings.ERASURE_BATCH_DEADLINE_MARGIN_SECONDS
