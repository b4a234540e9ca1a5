import os
import sqlite3
import subprocess
import sys
import threading
import uuid

import psycopg
import pytest
from django.conf import settings
from django.db import DatabaseError, connection, connections, transaction
from django.utils import timezone

from erasure_engine.evidence.log import Tampering, event_mac_valid, tree_head_verify
from erasure_engine.evidence.merkle import MerkleTree
from erasure_platform.core.audit_privileges import audit_privileges_apply
from erasure_platform.core.models import AuditEvent, AuditLogLeaf, SignedTreeHead
from erasure_platform.core.selectors import audit_event_leaf_hash
from erasure_platform.core.services.audit import audit_event_of, audit_mac_key, audit_record, audit_record_many
from erasure_platform.evidence.keys import evidence_public_key
from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors
from erasure_platform.evidence.services.transparency_log import audit_log_fold
from tests.platform.conftest import REPO_ROOT

SUBMITTED = {
    "reference": "R-1",
    "jurisdiction": "GDPR",
    "channel": "portal",
    "due_on": "2027-01-08",
    "scope_type": "all",
}


def record_three():
    return [
        audit_record(
            actor="user:1", action="request.submitted", entity_type="erasure_request", entity_id="r1", data=SUBMITTED
        ),
        audit_record(
            actor="user:2",
            action="request.granted",
            entity_type="erasure_request",
            entity_id="r1",
            data={"reason": "ok", "due_on": "2027-01-08"},
        ),
        audit_record(
            actor="system",
            action="request.completed",
            entity_type="erasure_request",
            entity_id="r1",
            data={"datasets": [], "models": []},
        ),
    ]


@pytest.mark.django_db
def test_events_carry_a_mac_and_fold_into_a_signed_merkle_tree():
    events = record_three()
    assert all(event_mac_valid(audit_mac_key(), audit_event_of(e)) for e in events)
    assert not AuditLogLeaf.objects.exists(), "appending never touches the tree"
    summary = audit_log_fold()
    assert summary["folded"] == 3 and summary["tree_size"] == 3 and summary["forged"] == 0
    leaves = list(AuditLogLeaf.objects.order_by("leaf_index"))
    assert [leaf.event_id for leaf in leaves] == [e.sequence for e in events]
    assert [leaf.leaf_hash for leaf in leaves] == [audit_event_leaf_hash(e) for e in events]
    head = tree_head_verify(SignedTreeHead.objects.get().signed.encode(), evidence_public_key())
    assert head.root_hash == MerkleTree([bytes.fromhex(leaf.leaf_hash) for leaf in leaves]).root()
    assert audit_log_fold() is None, "nothing new and no heartbeat due: no new head"
    record_three()
    assert audit_log_fold()["tree_size"] == 6
    result = audit_chain_verify_with_anchors()
    assert result.ok, result.problems
    assert result.chain["events_checked"] == 6 and result.chain["tree_size"] == 6


@pytest.mark.django_db
def test_events_appended_together_are_one_insert_each_macd_in_order(django_assert_num_queries):
    with django_assert_num_queries(1) as captured:
        events = audit_record_many(
            [
                {
                    "actor": "owner:r1",
                    "action": "request.submitted",
                    "entity_type": "erasure_request",
                    "entity_id": "r1",
                    "data": SUBMITTED,
                },
                {
                    "actor": "system",
                    "action": "request.receipt_confirmed",
                    "entity_type": "erasure_request",
                    "entity_id": "r1",
                    "data": {"confirmation_due": "2026-12-11"},
                },
            ]
        )
    assert captured.captured_queries[0]["sql"].startswith('INSERT INTO "core_auditevent"')
    stored = list(AuditEvent.objects.filter(entity_id="r1").order_by("sequence"))
    assert [e.action for e in stored] == ["request.submitted", "request.receipt_confirmed"]
    assert [e.sequence for e in stored] == [e.sequence for e in events]
    assert all(event_mac_valid(audit_mac_key(), audit_event_of(e)) for e in stored), "reread content matches its MAC"
    assert audit_log_fold()["forged"] == 0
    result = audit_chain_verify_with_anchors()
    assert result.ok, result.problems


@pytest.mark.django_db
def test_the_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql", "scripts/test must point DATABASE_URL at a real PostgreSQL"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditevent SET data = '{\"reason\": \"forged\"}' WHERE action = 'request.granted'",
        "DELETE FROM core_auditevent WHERE action = 'request.completed'",
        "UPDATE core_auditlogleaf SET leaf_hash = repeat('0', 64)",
        "DELETE FROM core_signedtreehead",
    ],
)
def test_postgresql_refuses_to_change_log_rows(statement):
    record_three()
    audit_log_fold()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert audit_chain_verify_with_anchors().ok


@pytest.mark.django_db(transaction=True)
def test_appends_do_not_wait_for_each_other():
    """A writer whose transaction stays open must not block another writer (the old head-row lock did)."""
    holding, release = threading.Event(), threading.Event()

    def long_transaction():
        try:
            with transaction.atomic():
                audit_record(
                    actor="user:1", action="system.pong", entity_type="outbox_event", entity_id="1", data={"ping": 1}
                )
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    thread = threading.Thread(target=long_transaction)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '5s'")
            audit_record(
                actor="user:2", action="system.pong", entity_type="outbox_event", entity_id="2", data={"ping": 2}
            )
        assert AuditEvent.objects.filter(action="system.pong", entity_id="2").exists()
        assert audit_log_fold()["folded"] == 1, "only committed events are folded"
    finally:
        release.set()
        thread.join()
    assert audit_log_fold()["folded"] == 1
    assert audit_chain_verify_with_anchors().ok


@pytest.fixture
def app_role():
    """A real login role with exactly the privileges the migration gives the application."""
    role, password = f"erasure_app_test_{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE ROLE "{role}" LOGIN PASSWORD %s', [password])
        cursor.execute(f'GRANT USAGE ON SCHEMA public TO "{role}"')
        cursor.execute(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{role}"')
        audit_privileges_apply(cursor, app_role=role, log_role="no_such_role", quote=connection.ops.quote_name)
    db = settings.DATABASES["default"]
    conn = psycopg.connect(
        host=db["HOST"], port=db["PORT"], dbname=db["NAME"], user=role, password=password, autocommit=True
    )
    yield conn
    conn.close()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP OWNED BY "{role}"')
        cursor.execute(f'DROP ROLE "{role}"')


@pytest.mark.django_db(transaction=True)
def test_the_app_role_can_only_insert_and_its_forgery_is_named(app_role):
    record_three()
    audit_log_fold()
    for statement in (
        "UPDATE core_auditevent SET actor = 'user:9'",
        "INSERT INTO core_auditlogleaf (leaf_index, event_id, leaf_hash) VALUES (99, 1, repeat('0', 64))",
        "INSERT INTO core_signedtreehead (tree_size, root_hash, timestamp_ms, signed, frontier) VALUES (0, '', 1, '', '[]')",
        "DELETE FROM core_signedtreehead",
        "TRUNCATE core_auditevent CASCADE",
    ):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app_role.execute(statement)
    # What the app role CAN do: insert a well-formed event attributed to an officer, without the MAC key.
    app_role.execute(
        "INSERT INTO core_auditevent (uid, occurred_at, actor, action, entity_type, entity_id, data, mac) "
        "VALUES (%s, %s, 'user:officer', 'request.completed', 'erasure_request', 'r1', '{}', %s)",
        [uuid.uuid4(), timezone.now(), "0" * 64],
    )
    assert audit_log_fold()["forged"] == 1
    result = audit_chain_verify_with_anchors()
    assert not result.ok and result.kinds() == {Tampering.FORGED_EVENT}
    assert "request.completed by user:officer" in result.problems[0]


def run_manage(args, env):
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def embedded_env(var_dir) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["ERASURE_VAR_DIR"] = str(var_dir)
    env["ERASURE_MODE"] = "embedded"
    return env


def test_sqlite_log_check_names_a_tampered_row_and_a_deleted_tail(tmp_path):
    env = embedded_env(tmp_path / "var")
    assert run_manage(["migrate", "--verbosity", "0"], env).returncode == 0
    seeded = run_manage(["seed_demo"], env)  # writes one audit event per demo user
    assert seeded.returncode == 0, seeded.stderr
    assert run_manage(["anchor_audit_chain"], env).returncode == 0
    intact = run_manage(["verify_audit_chain"], env)
    assert intact.returncode == 0 and "intact: 4 events, 4 in the Merkle tree" in intact.stdout, intact.stderr

    with sqlite3.connect(tmp_path / "var" / "erasure.sqlite3") as db:
        db.execute('UPDATE core_auditevent SET data = \'{"username": "mallory"}\' WHERE sequence = 3')
        db.execute("DELETE FROM core_auditlogleaf WHERE leaf_index = 3")
        db.execute("DELETE FROM core_auditevent WHERE sequence = 4")
    tampered = run_manage(["verify_audit_chain"], env)
    assert tampered.returncode == 1
    assert "changed_row: event #3 (leaf 2" in tampered.stderr
    assert "truncation: " in tampered.stderr
