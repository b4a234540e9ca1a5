"""Audit append throughput (new lock-free path vs the old head-row chain) and the rewrite window.

Needs the real PostgreSQL that scripts/test starts; run it through pytest (it is not part of
the suite, whose testpaths are tests/):

    ERASURE_SKIP_BOOTSTRAP=1 scripts/test bench/audit_log_bench.py -s -p no:cacheprovider

Prints: events/s with W concurrent writers for both paths, the fold rate, and the window —
seconds from an event's commit to its inclusion in a signed tree head — while the dispatcher's
folder runs every AUDIT_STH_INTERVAL_SECONDS. Figures go to docs/benchmarks.md.
"""

import hashlib
import os
import statistics
import threading
import time

import pytest
from django.conf import settings
from django.db import connection, connections, transaction

from erasure_platform.core.models import AuditEvent, AuditLogLeaf, SignedTreeHead
from erasure_platform.core.services.audit import audit_record
from erasure_platform.evidence.services.transparency_log import audit_log_fold

WRITERS = int(os.environ.get("BENCH_WRITERS", "4"))
EVENTS_PER_WRITER = int(os.environ.get("BENCH_EVENTS", "500"))
# The rest of a caller's transaction after its audit append (other statements, round trips):
# the old chain held its head-row lock through it, so every writer waited.
CALLER_WORK_MS = [float(v) for v in os.environ.get("BENCH_CALLER_WORK_MS", "0,5").split(",")]

OLD_CHAIN_SQL = """
CREATE TABLE IF NOT EXISTS bench_old_head (id int PRIMARY KEY, sequence bigint, hash text);
CREATE TABLE IF NOT EXISTS bench_old_event (sequence bigint PRIMARY KEY, occurred_at timestamptz, actor text,
    action text, entity_type text, entity_id text, data jsonb, prev_hash text, hash text UNIQUE);
TRUNCATE bench_old_head, bench_old_event;
INSERT INTO bench_old_head VALUES (1, 0, repeat('0', 64));
"""


def old_chain_append(i: int, work_s: float) -> None:
    """The previous audit_record: every writer bumps and rewrites one head row (row lock held to commit)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE bench_old_head SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence, hash")
        sequence, prev = cursor.fetchone()
        digest = hashlib.sha256(f"{sequence}{prev}{i}".encode()).hexdigest()
        cursor.execute(
            "INSERT INTO bench_old_event VALUES (%s, now(), 'user:1', 'bench', 'request', 'r', '{}', %s, %s)",
            [sequence, prev, digest],
        )
        cursor.execute("UPDATE bench_old_head SET hash = %s WHERE id = 1", [digest])
        time.sleep(work_s)


def new_append(i: int, work_s: float) -> None:
    with transaction.atomic():
        audit_record(actor="user:1", action="system.pong", entity_type="outbox_event", entity_id="r", data={"ping": i})
        time.sleep(work_s)


def run_writers(append, work_ms: float) -> float:
    start_barrier = threading.Barrier(WRITERS + 1)
    errors = []

    def writer(offset: int):
        try:
            start_barrier.wait()
            for i in range(EVENTS_PER_WRITER):
                append(offset + i, work_ms / 1000)
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(w * EVENTS_PER_WRITER,)) for w in range(WRITERS)]
    for thread in threads:
        thread.start()
    start_barrier.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    assert not errors, errors[:3]
    return WRITERS * EVENTS_PER_WRITER / elapsed


@pytest.mark.django_db(transaction=True)
def test_audit_log_bench():
    old_rates = {}
    for work_ms in CALLER_WORK_MS:
        with connection.cursor() as cursor:
            cursor.execute(OLD_CHAIN_SQL)
        old_rates[work_ms] = run_writers(old_chain_append, work_ms)

    # New path, with the dispatcher's folder running at its cadence meanwhile.
    stop = threading.Event()

    def folder():
        try:
            while not stop.is_set():
                audit_log_fold()
                stop.wait(settings.AUDIT_STH_INTERVAL_SECONDS)
            audit_log_fold(heartbeat_seconds=0)
        finally:
            connections.close_all()

    folding = threading.Thread(target=folder)
    folding.start()
    new_rates = {work_ms: run_writers(new_append, work_ms) for work_ms in CALLER_WORK_MS}
    stop.set()
    folding.join()

    # Window: from an event's commit (approximated by occurred_at) to the first tree head covering it.
    heads = list(SignedTreeHead.objects.order_by("timestamp_ms").values_list("tree_size", "timestamp_ms"))
    delays = []
    for leaf_index, occurred_at in AuditLogLeaf.objects.values_list("leaf_index", "event__occurred_at"):
        covering = next(ts for size, ts in heads if size > leaf_index)
        delays.append(covering / 1000 - occurred_at.timestamp())
    delays.sort()

    # Fold rate alone: a backlog of events folded in one pass.
    for i in range(2000):
        audit_record(actor="user:1", action="system.pong", entity_type="outbox_event", entity_id="r", data={"ping": i})
    began = time.perf_counter()
    folded = audit_log_fold(heartbeat_seconds=0)["folded"]
    fold_rate = folded / (time.perf_counter() - began)

    print(f"\naudit appends, {WRITERS} writers x {EVENTS_PER_WRITER} events, PostgreSQL, {os.cpu_count()} CPUs:")
    for work_ms in CALLER_WORK_MS:
        old_rate, new_rate = old_rates[work_ms], new_rates[work_ms]
        print(
            f"  caller's transaction +{work_ms:g} ms: old head-row chain {old_rate:6.0f} events/s, "
            f"new MAC'd insert {new_rate:6.0f} events/s ({new_rate / old_rate:.1f}x; folder every "
            f"{settings.AUDIT_STH_INTERVAL_SECONDS} s)"
        )
    print(f"  fold (leaves + STH): {fold_rate:8.0f} events/s ({folded} in one pass)")
    print(
        f"  window commit -> signed tree head: p50 {statistics.median(delays):.2f} s, "
        f"p99 {delays[int(len(delays) * 0.99) - 1]:.2f} s, max {delays[-1]:.2f} s over {len(delays)} events"
    )
    print(f"  tree heads signed: {len(heads)}; events {AuditEvent.objects.count()}")
