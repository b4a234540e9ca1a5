import subprocess
import sys

import pytest
from django.db import transaction

from erasure_platform.core import events as core_events
from erasure_platform.core.models import AuditEvent, OutboxEvent, ProcessedEvent
from erasure_platform.core.services.outbox import outbox_event_consume, outbox_publish, outbox_relay_once
from tests.platform.conftest import REPO_ROOT, wait_until


def pongs_for(event_id) -> int:
    return AuditEvent.objects.filter(action="system.pong", entity_id=str(event_id)).count()


@pytest.mark.django_db
def test_event_is_not_published_when_its_transaction_rolls_back():
    published = []
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            outbox_publish(topic="system.ping", payload={"n": 1})
            raise RuntimeError("the state change failed")
    assert outbox_relay_once(publish=published.append) == 0
    assert published == []


@pytest.mark.django_db
def test_relay_publishes_due_events_once_and_marks_them():
    published = []
    now_event = outbox_publish(topic="system.ping", payload={"n": 1})
    later_event = outbox_publish(topic="system.ping", payload={"n": 2}, delay_seconds=3600)
    assert outbox_relay_once(publish=published.append) == 1
    assert [event.id for event in published] == [now_event.id]
    assert outbox_relay_once(publish=published.append) == 0
    now_event.refresh_from_db()
    later_event.refresh_from_db()
    assert now_event.published_at is not None and now_event.publish_attempts == 1
    assert later_event.published_at is None


@pytest.mark.django_db
def test_a_failed_publish_leaves_the_event_pending():
    event = outbox_publish(topic="system.ping", payload={})

    def broken_broker(_event):
        raise ConnectionError("broker down")

    with pytest.raises(ConnectionError):
        outbox_relay_once(publish=broken_broker)
    event.refresh_from_db()
    assert event.published_at is None


@pytest.mark.django_db
def test_consuming_twice_has_one_effect():
    event = outbox_publish(topic="system.ping", payload={"n": 7})
    assert outbox_event_consume(event_id=event.id) == ["core.system_pong"]
    assert outbox_event_consume(event_id=event.id) == []
    assert pongs_for(event.id) == 1
    assert ProcessedEvent.objects.filter(event_id=event.id).count() == 1


@pytest.mark.django_db
def test_a_failing_consumer_leaves_no_receipt_so_redelivery_retries(monkeypatch):
    event = outbox_publish(topic="system.ping", payload={})
    calls = {"n": 0}
    real = core_events.audit_record

    def flaky(**kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("transient")
        return real(**kwargs)

    monkeypatch.setattr(core_events, "audit_record", flaky)
    with pytest.raises(OSError):
        outbox_event_consume(event_id=event.id)
    assert not ProcessedEvent.objects.filter(event_id=event.id).exists()
    assert outbox_event_consume(event_id=event.id) == ["core.system_pong"]
    assert pongs_for(event.id) == 1


def test_event_survives_relay_killed_between_publish_and_mark_sent(process_env, start_worker, purge_broker, relay):
    event = outbox_publish(topic="system.ping", payload={"probe": "relay-crash"})

    crashed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "support" / "relay_killed_after_publish.py")],
        cwd=REPO_ROOT,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stderr
    assert f"published {event.id}" in crashed.stdout
    event.refresh_from_db()
    assert event.published_at is None, "the killed relay must not have marked the event sent"

    start_worker("default")
    # The message the dead relay did send is delivered and processed...
    wait_until(lambda: pongs_for(event.id) == 1, message="the first delivery to be consumed")
    # ...and the next relay pass publishes the event again, as it must (at least once).
    assert relay() == 1
    event.refresh_from_db()
    assert event.published_at is not None
    wait_until(
        lambda: (
            ProcessedEvent.objects.filter(event_id=event.id).exists()
            and not OutboxEvent.objects.filter(published_at__isnull=True).exists()
        ),
        message="the relay to finish",
    )
    # Give the duplicate delivery time to arrive and be recognised as a duplicate.
    second = outbox_publish(topic="system.ping", payload={"probe": "sentinel"})
    assert relay() == 1
    wait_until(lambda: pongs_for(second.id) == 1, message="a later event to be consumed")
    assert pongs_for(event.id) == 1, "the effect must happen exactly once"
