"""Progress of an erasure plan, told to the request's timeline (the owner and officer see it)."""

from __future__ import annotations

from erasure_platform.core import topics
from erasure_platform.core.services.outbox import outbox_publish
from erasure_platform.orchestration.models import ErasurePlan

ACTOR = "system:orchestration"


def plan_progress(*, plan: ErasurePlan, stage: str, detail: dict | None = None) -> None:
    outbox_publish(
        topic=topics.REQUEST_ERASURE_PROGRESS,
        payload={"request_id": plan.request_id, "stage": stage, "detail": detail or {}},
    )
