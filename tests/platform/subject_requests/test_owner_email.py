"""Owner e-mails leave through the outbox: a hung SMTP server cannot hold up intake, and each
queued e-mail is sent once."""

from __future__ import annotations

import socket
import threading

import pytest
from django.core import mail
from rest_framework.test import APIClient

from erasure_platform.core.models import OutboxEvent, ProcessedEvent
from erasure_platform.core.services.outbox import outbox_event_consume
from erasure_platform.core.topics import OWNER_EMAIL as TOPIC_OWNER_EMAIL
from tests.platform.subject_requests.conftest import CODE_PATTERN

pytestmark = pytest.mark.django_db


class HungSmtpServer:
    """Accepts connections and never says a word (not even the SMTP greeting)."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(connection)

    def close(self):
        self.sock.close()
        for connection in self.accepted:
            connection.close()


@pytest.fixture
def hung_smtp(settings):
    server = HungSmtpServer()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", server.port, False
    settings.EMAIL_TIMEOUT = 1
    yield server
    server.close()


def file_via_api():
    return APIClient().post("/api/requests", {"identifier": "ada@example.com", "jurisdiction": "GDPR"}, format="json")


def test_intake_answers_without_talking_to_a_hung_smtp_server(hung_smtp, settings):
    response = file_via_api()
    assert response.status_code == 201
    assert hung_smtp.accepted == []  # the request path never opened an SMTP connection
    events = list(OutboxEvent.objects.filter(topic=TOPIC_OWNER_EMAIL))
    assert len(events) == 2  # receipt and code, queued in the request's transaction
    assert all("one-time code" not in repr(event.payload) for event in events)  # bodies are encrypted at rest

    # The worker's attempt against the hung server fails after EMAIL_TIMEOUT and records nothing,
    # so the event's task retries it.
    with pytest.raises(OSError):
        outbox_event_consume(event_id=events[0].id)
    assert len(hung_smtp.accepted) == 1
    assert not ProcessedEvent.objects.filter(event_id=events[0].id).exists()

    # Once mail flows again, every event gives exactly one e-mail, whatever the redeliveries.
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    for _ in range(2):
        for event in events:
            outbox_event_consume(event_id=event.id)
    assert len(mail.outbox) == 2
    code_mail = next(message for message in mail.outbox if CODE_PATTERN.search(message.body))
    assert code_mail.to == ["ada@example.com"]
    code_event = next(event for event in events if event.payload["recipient"] == "identifier")
    assert code_mail.extra_headers["Message-ID"] == f"<owner-email-{code_event.id}@{settings.ERASURE_EMAIL_DOMAIN}>"


def test_a_purged_address_is_not_written_to(file_request):
    from erasure_platform.subject_requests.models import ErasureRequest

    request, _ = file_request(identifier="ada@example.com")
    ErasureRequest.objects.filter(pk=request.pk).update(contact_email_encrypted="", verification_address_encrypted="")
    for event in OutboxEvent.objects.filter(topic=TOPIC_OWNER_EMAIL):
        assert outbox_event_consume(event_id=event.id) == ["subject_requests.send_owner_email"]
    assert mail.outbox == []


def test_a_rolled_back_change_queues_no_email():
    from django.db import transaction

    from erasure_platform.subject_requests.services import request_create

    with pytest.raises(RuntimeError), transaction.atomic():
        request_create(identifier="ada@example.com", jurisdiction="GDPR", channel="api")
        raise RuntimeError("the caller's transaction fails after the service ran")
    assert not OutboxEvent.objects.filter(topic=TOPIC_OWNER_EMAIL).exists()
