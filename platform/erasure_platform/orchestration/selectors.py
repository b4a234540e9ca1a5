"""Reads of orchestration: erasure plans."""

from __future__ import annotations

from erasure_platform.core.errors import NotFound
from erasure_platform.orchestration.models import ErasurePlan


def plan_get(*, request_id: str) -> ErasurePlan:
    plan = ErasurePlan.objects.filter(request_id=str(request_id)).first()
    if plan is None:
        raise NotFound(f"no erasure plan for request {request_id}")
    return plan
