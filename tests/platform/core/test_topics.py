"""The event contract holds: every internal topic has a consumer, every consumer a declared topic,
every publish names a declared topic with its payload keys."""

import re
from pathlib import Path

import pytest
from django.apps import apps

from erasure_platform.core import topics
from erasure_platform.core.services.outbox import _consumers, event_consumer, outbox_publish

PLATFORM = Path(__file__).resolve().parents[3] / "platform" / "erasure_platform"


def test_every_internal_topic_has_a_consumer_and_every_consumer_a_declared_topic():
    assert apps.ready  # consumers register when the apps load
    for topic, contract in topics.CONTRACT.items():
        if not contract.external:
            assert _consumers.get(topic), f"{topic} is declared internal but nothing consumes it"
    assert set(_consumers) <= set(topics.CONTRACT)


def test_publishers_name_topics_from_the_contract_module():
    """No topic spelled as a string literal outside the contract: one spelling, one owner."""
    literal = re.compile(r"""(outbox_publish\(topic=|event_consumer\()\s*f?["']""")
    offenders = [str(path.relative_to(PLATFORM)) for path in PLATFORM.rglob("*.py") if literal.search(path.read_text())]
    assert offenders == []


@pytest.mark.django_db
def test_undeclared_topics_and_incomplete_payloads_are_refused():
    with pytest.raises(ValueError, match="not declared"):
        outbox_publish(topic="request.granted.typo", payload={})
    with pytest.raises(ValueError, match="lacks \\['certificate_id'\\]"):
        outbox_publish(topic=topics.CERTIFICATE_ISSUED, payload={"request_id": "x"})
    with pytest.raises(ValueError, match="not declared"):
        event_consumer("nobody.publishes.this")
