"""Helpers for erasure-request tests: file a request, read the code the owner was e-mailed."""

from __future__ import annotations

import re

import pytest
from django.core import mail

from erasure_platform.accounts.roles import Role

CODE_PATTERN = re.compile(r"one-time code is: (\d{6})")


def delivered_mail() -> list:
    """Do what the worker does with the queued owner e-mails (their real consumer, once per
    event), then return every e-mail sent so far (Django's test outbox)."""
    from erasure_platform.core.models import OutboxEvent
    from erasure_platform.core.services.outbox import outbox_event_consume
    from erasure_platform.core.topics import OWNER_EMAIL as TOPIC_OWNER_EMAIL

    for event_id in (
        OutboxEvent.objects.filter(topic=TOPIC_OWNER_EMAIL).order_by("created_at").values_list("id", flat=True)
    ):
        outbox_event_consume(event_id=event_id)
    return mail.outbox


def last_code(address: str | None = None) -> str:
    for message in reversed(delivered_mail()):
        if address and address not in message.to:
            continue
        match = CODE_PATTERN.search(message.body)
        if match:
            return match.group(1)
    raise AssertionError("no verification code was e-mailed")


@pytest.fixture
def file_request(django_capture_on_commit_callbacks):
    """File a request through the service (e-mails delivered) → (request, token)."""
    from erasure_platform.subject_requests.services import request_create

    def file(identifier="ada@example.com", jurisdiction="GDPR", **kwargs):
        kwargs.setdefault("channel", "portal")
        with django_capture_on_commit_callbacks(execute=True):
            return request_create(identifier=identifier, jurisdiction=jurisdiction, **kwargs)

    return file


@pytest.fixture
def verified_request(file_request, django_capture_on_commit_callbacks):
    from erasure_platform.subject_requests.services import request_verify_identity

    def make(identifier="ada@example.com", **kwargs):
        request, token = file_request(identifier=identifier, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            request = request_verify_identity(
                erasure_request=request, code=last_code(identifier if "@" in identifier else None)
            )
        return request, token

    return make


@pytest.fixture
def officer(db):
    from erasure_platform.accounts.services import user_create

    return user_create(username="olivia", password="x-long-password-1", roles=[Role.OFFICER])


@pytest.fixture
def auditor(db):
    from erasure_platform.accounts.services import user_create

    return user_create(username="audrey", password="x-long-password-1", roles=[Role.AUDITOR])


@pytest.fixture
def engineer(db):
    from erasure_platform.accounts.services import user_create

    return user_create(username="enzo", password="x-long-password-1", roles=[Role.ML_ENGINEER])


@pytest.fixture(autouse=True)
def _fast_passwords_and_fresh_throttles(settings):
    """Cheap password hashing for the many users these tests create; throttle counters reset."""
    import uuid

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Counters live in the shared cache (a database table, or Redis): a key prefix of the test's
    # own starts from zero without touching the database before the test may.
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}
