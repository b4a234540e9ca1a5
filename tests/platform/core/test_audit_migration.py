"""Migration 0003 turns the old hash chain's rows into MAC'd log events, in order."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from erasure_engine.evidence.log import event_mac_valid
from erasure_platform.core.models import AuditEvent
from erasure_platform.core.services.audit import audit_event_of, audit_mac_key
from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors
from erasure_platform.evidence.services.transparency_log import audit_log_fold

BEFORE = [("core", "0002_audit_append_only")]


@pytest.mark.django_db(transaction=True)
def test_legacy_chain_events_get_a_uid_and_a_valid_mac():
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()  # every app: migrating core back unapplies its dependents
    executor.migrate(BEFORE)
    try:
        old_apps = executor.loader.project_state(BEFORE).apps
        LegacyEvent = old_apps.get_model("core", "AuditEvent")
        for sequence, action in enumerate(["request.submitted", "request.granted", "request.completed"], start=1):
            LegacyEvent.objects.create(
                sequence=sequence,
                occurred_at=timezone.now(),
                actor="user:1",
                action=action,
                entity_type="request",
                entity_id="r1",
                data={"n": sequence},
                prev_hash=f"{sequence - 1:064d}",
                hash=f"{sequence:064d}",
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(latest)
    events = list(AuditEvent.objects.order_by("sequence"))
    assert [e.action for e in events] == ["request.submitted", "request.granted", "request.completed"]
    assert len({e.uid for e in events}) == 3
    assert all(event_mac_valid(audit_mac_key(), audit_event_of(e)) for e in events)
    assert audit_log_fold()["tree_size"] == 3
    assert audit_chain_verify_with_anchors().ok
