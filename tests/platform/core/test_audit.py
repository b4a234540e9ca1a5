import os
import sqlite3
import subprocess
import sys

import pytest
from django.db import DatabaseError, connection, transaction

from erasure_platform.core.models import GENESIS_HASH, AuditEvent
from erasure_platform.core.selectors import audit_chain_verify
from erasure_platform.core.services.audit import audit_record
from tests.platform.conftest import REPO_ROOT


def record_three():
    return [
        audit_record(actor="user:1", action="request.submitted", entity_type="request", entity_id="r1", data={"scope": "all"}),
        audit_record(actor="user:2", action="request.granted", entity_type="request", entity_id="r1", data={"reason": "ok"}),
        audit_record(actor="system", action="request.completed", entity_type="request", entity_id="r1"),
    ]


@pytest.mark.django_db
def test_events_form_a_hash_chain():
    first, second, third = record_three()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash and third.prev_hash == second.hash
    assert [e.sequence for e in (first, second, third)] == [1, 2, 3]
    result = audit_chain_verify()
    assert result.ok and result.events_checked == 3 and result.head_hash == third.hash


@pytest.mark.django_db
def test_the_suite_runs_on_postgresql():
    assert connection.vendor == "postgresql", "scripts/test must point DATABASE_URL at a real PostgreSQL"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE core_auditevent SET data = '{\"reason\": \"forged\"}' WHERE sequence = 2",
        "DELETE FROM core_auditevent WHERE sequence = 3",
    ],
)
def test_postgresql_refuses_to_change_audit_rows(statement):
    record_three()
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement)
    assert audit_chain_verify().ok
    assert AuditEvent.objects.count() == 3


@pytest.mark.django_db
def test_chain_check_names_a_row_altered_behind_the_trigger():
    record_three()
    # A database owner can disable the trigger; the chain still exposes the rewrite.
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE core_auditevent DISABLE TRIGGER core_auditevent_append_only")
        cursor.execute("UPDATE core_auditevent SET actor = 'user:9' WHERE sequence = 2")
        cursor.execute("ALTER TABLE core_auditevent ENABLE TRIGGER core_auditevent_append_only")
    result = audit_chain_verify()
    assert not result.ok
    assert result.first_broken_sequence == 2
    assert "altered" in result.reason


def run_manage(args, env):
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300,
    )


def embedded_env(var_dir) -> dict:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "CELERY_BROKER_URL")}
    env["ERASURE_VAR_DIR"] = str(var_dir)
    env["ERASURE_MODE"] = "embedded"
    return env


def test_sqlite_chain_check_names_a_tampered_row(tmp_path):
    env = embedded_env(tmp_path / "var")
    assert run_manage(["migrate", "--verbosity", "0"], env).returncode == 0
    seeded = run_manage(["seed_demo"], env)  # writes one audit event per demo user
    assert seeded.returncode == 0, seeded.stderr
    intact = run_manage(["verify_audit_chain"], env)
    assert intact.returncode == 0 and "intact: 4 events" in intact.stdout

    with sqlite3.connect(tmp_path / "var" / "erasure.sqlite3") as db:
        db.execute("UPDATE core_auditevent SET data = '{\"username\": \"mallory\"}' WHERE sequence = 3")
    tampered = run_manage(["verify_audit_chain"], env)
    assert tampered.returncode == 1
    assert "BROKEN at event sequence 3" in tampered.stderr
    assert "2 events before it are intact" in tampered.stderr


def test_sqlite_chain_check_notices_deleted_tail(tmp_path):
    env = embedded_env(tmp_path / "var")
    assert run_manage(["migrate", "--verbosity", "0"], env).returncode == 0
    assert run_manage(["seed_demo"], env).returncode == 0
    with sqlite3.connect(tmp_path / "var" / "erasure.sqlite3") as db:
        db.execute("DELETE FROM core_auditevent WHERE sequence = 4")
    result = run_manage(["verify_audit_chain", "--json"], env)
    assert result.returncode == 1
    assert '"first_broken_sequence": 4' in result.stdout
