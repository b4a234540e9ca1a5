import pytest
from django.db import connection

from erasure_platform.core.models import AuditChainHead, AuditEvent
from erasure_platform.core.object_store import platform_object_store
from erasure_platform.core.services.audit import audit_event_content, audit_event_hash, audit_record
from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors
from erasure_platform.evidence.services.anchors import ANCHOR_PREFIX, anchor_key, audit_anchor_write


@pytest.fixture(autouse=True)
def empty_anchor_store():
    store = platform_object_store()
    store.delete_prefix_permanently(ANCHOR_PREFIX)
    yield
    store.delete_prefix_permanently(ANCHOR_PREFIX)


def record(n: int):
    for i in range(n):
        audit_record(actor="user:1", action="request.note", entity_type="request", entity_id="r1", data={"i": i})


def rewrite_history_perfectly(sequence: int, new_data: dict) -> None:
    """What an attacker with full database access does: change an event and recompute
    every later hash so that the chain alone looks intact."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
    prev_hash = AuditEvent.objects.get(sequence=sequence).prev_hash
    for event in AuditEvent.objects.filter(sequence__gte=sequence).order_by("sequence"):
        if event.sequence == sequence:
            event.data = new_data
        event.prev_hash = prev_hash
        event.hash = audit_event_hash(audit_event_content(
            sequence=event.sequence, occurred_at=event.occurred_at, actor=event.actor, action=event.action,
            entity_type=event.entity_type, entity_id=event.entity_id, data=event.data, prev_hash=prev_hash,
        ))
        AuditEvent.objects.filter(pk=event.pk).update(data=event.data, prev_hash=event.prev_hash, hash=event.hash)
        prev_hash = event.hash
    AuditChainHead.objects.filter(pk=1).update(hash=prev_hash)
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_append_only")


@pytest.mark.django_db
def test_anchor_is_signed_written_once_per_head_and_verifies():
    record(3)
    anchor = audit_anchor_write()
    assert anchor["sequence"] == 3 and anchor["hash"] == AuditEvent.objects.get(sequence=3).hash
    assert platform_object_store().exists(anchor_key(3))
    assert audit_anchor_write() is None  # same head: nothing new
    record(2)
    assert audit_anchor_write()["sequence"] == 5
    result = audit_chain_verify_with_anchors()
    assert result.ok and result.anchors_checked == 2 and result.last_anchor_sequence == 5


@pytest.mark.django_db
def test_a_perfect_rewrite_passes_the_chain_but_not_the_anchors():
    record(4)
    audit_anchor_write()
    rewrite_history_perfectly(2, {"i": "forged"})
    result = audit_chain_verify_with_anchors()
    assert result.chain["ok"], "the rewrite recomputed every hash, so the chain alone is fooled"
    assert not result.ok
    assert any("history rewritten at or before event 4" in problem for problem in result.problems)


@pytest.mark.django_db
def test_a_forged_anchor_is_reported():
    record(2)
    audit_anchor_write()
    store = platform_object_store()
    data = store.get_bytes(anchor_key(2))
    store.put_bytes(anchor_key(2), data.replace(b'"sequence":2', b'"sequence":1'))
    result = audit_chain_verify_with_anchors()
    assert not result.ok
    assert any("is not valid" in problem for problem in result.problems)


@pytest.mark.django_db
def test_verify_command_names_the_rewrite(capsys):
    from django.core.management import call_command

    record(3)
    call_command("anchor_audit_chain")
    assert '"sequence": 3' in capsys.readouterr().out
    call_command("anchor_audit_chain")
    assert "nothing new to anchor" in capsys.readouterr().out
    call_command("verify_audit_chain")
    assert "1 anchor(s) agree" in capsys.readouterr().out
    rewrite_history_perfectly(1, {"i": "forged"})
    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_audit_chain")
    assert exit_info.value.code == 1
    assert "history rewritten at or before event 3" in capsys.readouterr().err
