"""The log's tree heads as C2SP checkpoints: /api/log/checkpoint serves the newest signed tree head
as a signed note that the engine's sumdb/note-compatible verifier (tested against Go's own
vectors) opens with the key /api/log/checkpoint/key publishes; the size and root are the tree head's."""

from __future__ import annotations

import pytest
from django.test import Client

from erasure_engine.evidence import NoteVerifier, checkpoint_open
from erasure_engine.evidence.signing import SignatureInvalid
from erasure_platform.core.models import SignedTreeHead
from erasure_platform.core.services.audit import audit_record
from erasure_platform.evidence.services.transparency_log import audit_log_fold

pytestmark = pytest.mark.django_db


def test_the_checkpoint_is_the_newest_tree_head_as_a_signed_note(settings):
    settings.AUDIT_LOG_ORIGIN = "erasure.example/audit-log"
    client = Client()
    assert client.get("/api/log/checkpoint").status_code == 404  # nothing signed yet
    for number in range(3):
        audit_record(
            actor="system", action="system.pong", entity_type="outbox_event", entity_id=number, data={"ping": 1}
        )
    audit_log_fold(heartbeat_seconds=0)
    response = client.get("/api/log/checkpoint")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    key = client.get("/api/log/checkpoint/key").content.decode().strip()
    assert key.startswith("erasure.example/audit-log+")
    checkpoint = checkpoint_open(response.content, NoteVerifier.parse(key))
    head = SignedTreeHead.objects.order_by("-timestamp_ms").first()
    assert (checkpoint.origin, checkpoint.tree_size, checkpoint.root_hash.hex()) == (
        "erasure.example/audit-log",
        head.tree_size,
        head.root_hash,
    )
    assert checkpoint.tree_size == 3
    tampered = response.content.decode().replace("\n3\n", "\n2\n")
    with pytest.raises(SignatureInvalid, match="invalid signature"):
        checkpoint_open(tampered, NoteVerifier.parse(key))
