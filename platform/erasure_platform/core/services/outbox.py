"""Transactional outbox: announce a change only once it is durable, and always announce it.

Producers call outbox_publish inside the transaction of their state change. The dispatcher
process runs outbox_relay_once in a loop: it hands committed events to a `publish` callable
(Celery, wired in workers/) and marks them sent. A relay that dies between publishing and
marking re-publishes later, so consumers must be idempotent: outbox_event_consume gives each
registered consumer exactly one committed effect per event.

Publishing is not delivery: a broker that crashes loses the messages it held. So
outbox_redeliver_unprocessed (periodic, in the dispatcher) puts back on the relay every event
published a while ago that one of its consumers has still not processed, up to a bounded number
of publications; the consumers' receipts make the extra deliveries harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from erasure_platform.core.errors import NotFound
from erasure_platform.core.models import OutboxEvent, ProcessedEvent
from erasure_platform.core.topics import CONTRACT, topic_check

logger = logging.getLogger(__name__)

EventConsumer = Callable[[OutboxEvent], None]
_consumers: dict[str, list[tuple[str, EventConsumer]]] = {}


def event_consumer(topic: str, name: str | None = None):
    """Register a function to run once per event of `topic` (decorator)."""

    if topic not in CONTRACT:
        raise ValueError(f"cannot consume {topic!r}: not declared in erasure_platform.core.topics")

    def register(func: EventConsumer) -> EventConsumer:
        consumer_name = name or f"{func.__module__}.{func.__qualname__}"
        entries = _consumers.setdefault(topic, [])
        if all(existing != consumer_name for existing, _ in entries):
            entries.append((consumer_name, func))
        return func

    return register


def consumers_for(topic: str) -> list[tuple[str, EventConsumer]]:
    return list(_consumers.get(topic, []))


def outbox_publish(*, topic: str, payload: dict, delay_seconds: float = 0) -> OutboxEvent:
    """Queue an event in the caller's transaction; it leaves only after that commits."""
    topic_check(topic, payload)
    now = timezone.now()
    return OutboxEvent.objects.create(topic=topic, payload=payload, available_at=now + timedelta(seconds=delay_seconds))


def outbox_publish_many(events: list[tuple[str, dict]]) -> list[OutboxEvent]:
    """Queue several (topic, payload) events with one multi-row INSERT, in the caller's transaction."""
    for topic, payload in events:
        topic_check(topic, payload)
    now = timezone.now()
    return OutboxEvent.objects.bulk_create(
        [OutboxEvent(topic=topic, payload=payload, available_at=now) for topic, payload in events]
    )


def outbox_relay_once(*, publish: Callable[[OutboxEvent], None], batch_size: int = 100) -> int:
    """Publish due events and mark them sent; returns how many were published."""
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(published_at__isnull=True, available_at__lte=timezone.now())
            .order_by("available_at", "created_at")[:batch_size]
        )
        for event in events:
            publish(event)
            event.published_at = timezone.now()
            event.publish_attempts += 1
            event.save(update_fields=["published_at", "publish_attempts"])
    if events:
        logger.info("outbox relay published %d event(s)", len(events))
    return len(events)


def outbox_redeliver_unprocessed(*, older_than_seconds: float | None = None, batch_size: int = 500) -> dict:
    """Queue again (for the relay) the events that were published but that some consumer has not
    processed after `older_than_seconds`: their message was lost (broker crash) or exhausted its
    retries. Stops after settings.OUTBOX_MAX_PUBLISH_ATTEMPTS publications; looks back
    settings.OUTBOX_REDELIVER_HORIZON_SECONDS. Returns counts."""
    now = timezone.now()
    older_than = settings.OUTBOX_REDELIVER_SECONDS if older_than_seconds is None else older_than_seconds
    topics = [topic for topic, entries in _consumers.items() if entries]
    requeued = 0
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(
                topic__in=topics,
                published_at__isnull=False,
                published_at__lte=now - timedelta(seconds=older_than),
                published_at__gte=now - timedelta(seconds=settings.OUTBOX_REDELIVER_HORIZON_SECONDS),
                publish_attempts__lt=settings.OUTBOX_MAX_PUBLISH_ATTEMPTS,
            )
            .order_by("published_at")[:batch_size]
        )
        receipts: dict = {}
        for event_id, consumer in ProcessedEvent.objects.filter(event_id__in=[e.id for e in events]).values_list(
            "event_id", "consumer"
        ):
            receipts.setdefault(event_id, set()).add(consumer)
        lost = [
            event
            for event in events
            if {name for name, _ in consumers_for(event.topic)} - receipts.get(event.id, set())
        ]
        if lost:
            OutboxEvent.objects.filter(pk__in=[e.id for e in lost]).update(published_at=None, available_at=now)
            requeued = len(lost)
            logger.warning("outbox: %d published event(s) not yet processed; queued for another delivery", requeued)
    return {"redelivered": requeued}


def outbox_event_consume(*, event_id) -> list[str]:
    """Run every consumer of the event that has not yet run; returns the ones that ran now."""
    event = OutboxEvent.objects.filter(pk=event_id).first()
    if event is None:
        raise NotFound(f"outbox event {event_id} does not exist")
    ran = []
    for name, consumer in consumers_for(event.topic):
        with transaction.atomic():
            try:
                with transaction.atomic():
                    ProcessedEvent.objects.create(consumer=name, event_id=event.id)
            except IntegrityError:
                logger.info("event %s already processed by %s; skipped", event.id, name)
                continue
            consumer(event)
        ran.append(name)
    return ran
