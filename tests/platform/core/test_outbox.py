import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction
from django.utils import timezone

from erasure_platform.core import events as core_events
from erasure_platform.core import topics
from erasure_platform.core.models import AuditEvent, OutboxEvent, ProcessedEvent
from erasure_platform.core.services.outbox import (
    outbox_event_consume,
    outbox_publish,
    outbox_redeliver_unprocessed,
    outbox_relay_once,
)
from erasure_platform.evidence.models import Certificate
from erasure_platform.subject_requests.services import request_create
from tests.platform.conftest import REPO_ROOT, wait_until
from tests.platform.evidence.helpers import complete
from tests.platform.subject_requests.conftest import (  # noqa: F401  (fixtures for the certificate case)
    _fast_passwords_and_fresh_throttles,
    file_request,
    officer,
    verified_request,
)


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


@pytest.mark.django_db
def test_a_published_event_no_consumer_processed_is_delivered_again(settings):
    """The broker crashed with the message in it: publishing is not delivery."""
    from datetime import timedelta

    settings.OUTBOX_MAX_PUBLISH_ATTEMPTS = 2
    lost = outbox_publish(topic="system.ping", payload={"n": 1})
    delivered = outbox_publish(topic="system.ping", payload={"n": 2})
    recent = outbox_publish(topic="system.ping", payload={"n": 3})
    outbox_publish(topic="job.run", payload={"job_id": "x", "queue": "default"})  # nobody consumes it
    assert outbox_relay_once(publish=lambda event: None) == 4
    outbox_event_consume(event_id=delivered.id)
    a_minute_ago = timezone.now() - timedelta(seconds=60)
    OutboxEvent.objects.exclude(pk=recent.pk).update(published_at=a_minute_ago)

    assert outbox_redeliver_unprocessed(older_than_seconds=30) == {"redelivered": 1}
    published = []
    assert outbox_relay_once(publish=published.append) == 1 and [e.id for e in published] == [lost.id]
    assert outbox_event_consume(event_id=lost.id) == ["core.system_pong"]
    assert pongs_for(lost.id) == 1
    # At most OUTBOX_MAX_PUBLISH_ATTEMPTS publications: a consumer that always fails is not retried forever.
    ProcessedEvent.objects.filter(event_id=lost.id).delete()
    OutboxEvent.objects.all().update(published_at=a_minute_ago)
    assert outbox_redeliver_unprocessed(older_than_seconds=30) == {"redelivered": 1}
    # `recent` (published once) goes again; `lost` used its two publications; job.run is the reaper's.
    assert list(OutboxEvent.objects.filter(published_at__isnull=True).values_list("id", flat=True)) == [recent.id]


def mail_with_message_id(event_id) -> int:
    from django.conf import settings

    folder = Path(settings.VAR_DIR) / "mail"
    needle = f"<owner-email-{event_id}@"
    return (
        sum(path.read_text(errors="replace").count(needle) for path in folder.glob("*.log")) if folder.is_dir() else 0
    )


def ping_event(request):
    event = outbox_publish(topic="system.ping", payload={"probe": "relay-crash"})
    return event, lambda: pongs_for(event.id)


def owner_email_event(request):

    owner_request, _ = request_create(identifier="crash@example.com", jurisdiction="GDPR", channel="api")
    event = OutboxEvent.objects.filter(topic=topics.OWNER_EMAIL, payload__request_id=str(owner_request.id)).first()
    return event, lambda: mail_with_message_id(event.id)


def certificate_event(request):

    owner_request, _ = request.getfixturevalue("verified_request")("cert@example.com")
    owner_request = complete(owner_request, request.getfixturevalue("officer"))
    event = OutboxEvent.objects.get(topic=topics.REQUEST_COMPLETED, payload__request_id=str(owner_request.id))

    def certificates() -> tuple[int, int]:
        issued = AuditEvent.objects.filter(action="certificate.issued", entity_id=str(owner_request.id)).count()
        return Certificate.objects.filter(request=owner_request).count(), issued

    return event, certificates


# One event of each kind of effect: (what makes the event, its effect once done). The certificate's
# request is made first: its setup delivers, in-process, every owner e-mail queued so far.
EFFECTS = {"certificate": (certificate_event, (1, 1)), "e-mail": (owner_email_event, 1), "audit pong": (ping_event, 1)}


def test_events_survive_relay_killed_between_publish_and_mark_sent(
    process_env, start_worker, purge_broker, relay, request
):
    cases = {name: (*make(request), expected) for name, (make, expected) in EFFECTS.items()}
    events = [event for event, _, _ in cases.values()]
    # These events alone are due (what set them up was done here, in-process).
    OutboxEvent.objects.exclude(pk__in=[e.pk for e in events]).update(published_at=timezone.now())

    crashed = subprocess.run(
        [sys.executable, str(REPO_ROOT / "tests" / "support" / "relay_killed_after_publish.py")],
        cwd=REPO_ROOT,
        env=process_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stderr
    for event in events:
        assert f"published {event.id}" in crashed.stdout
        event.refresh_from_db()
        assert event.published_at is None, "the killed relay must not have marked the event sent"

    start_worker("default")
    # The messages the dead relay did send are delivered and processed...
    for name, (_, effects, expected) in cases.items():
        wait_until(
            lambda effects=effects, expected=expected: effects() == expected,
            timeout=90,
            message=f"the first delivery ({name}) to be consumed",
        )
    # ...and the next relay pass publishes the events again, as it must (at least once).
    assert relay() >= len(events)
    for event in events:
        event.refresh_from_db()
        assert event.published_at is not None
    # Give the duplicate deliveries time to arrive and be recognised as duplicates.
    second = outbox_publish(topic="system.ping", payload={"probe": "sentinel"})
    wait_until(lambda: relay() >= 0 and pongs_for(second.id) == 1, timeout=90, message="a later event to be consumed")
    for name, (_, effects, expected) in cases.items():
        assert effects() == expected, f"{name}: the effect must happen exactly once"
