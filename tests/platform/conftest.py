"""Platform fixtures: real Celery workers and the outbox relay against the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

from erasure_platform.core.models import OutboxEvent, ProcessedEvent
from erasure_platform.core.queues import ALL_QUEUES
from erasure_platform.core.services.outbox import outbox_event_consume, outbox_relay_once
from workers.celery_app import app
from workers.publisher import celery_publish

REPO_ROOT = Path(__file__).resolve().parents[2]


def database_url_of(settings_dict: dict) -> str:
    user = quote(settings_dict.get("USER") or "")
    password = quote(settings_dict.get("PASSWORD") or "")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgresql://{auth}{settings_dict.get('HOST') or '127.0.0.1'}{port}/{settings_dict['NAME']}"


@pytest.fixture(autouse=True)
def isolated_anchor_store(settings, tmp_path):
    """Each test publishes tree heads to its own anchor store.

    The database is reset between tests but a shared store is not: a head anchored by an earlier
    test would then read, rightly, as a log whose leaves were removed.
    """
    settings.AUDIT_ANCHOR_STORE_URL = (tmp_path / "anchors").as_uri()


@pytest.fixture
def process_env(transactional_db, tmp_path):
    """Environment for subprocesses (workers, relay) that share this test's database."""
    from django.conf import settings
    from django.db import connection

    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "erasure_platform.settings"
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "platform"), str(REPO_ROOT)])
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = database_url_of(connection.settings_dict)
    env["ERASURE_VAR_DIR"] = str(settings.VAR_DIR)
    env["ERASURE_AUDIT_ANCHOR_STORE_URL"] = settings.AUDIT_ANCHOR_STORE_URL
    env["ERASURE_JOB_LEASE_SECONDS"] = str(settings.JOB_LEASE_SECONDS)
    return env


class WorkerProcess:
    """A real Celery worker. With `dies_after=["module:function", …]` its pool process is SIGKILLed
    right after the first call of each function returns (tests/support/worker_killed_after.py)."""

    def __init__(self, env: dict, queues: str, log_path: Path, dies_after: list[str] | None = None):
        self.log_path = log_path
        self.log = open(log_path, "w")
        if dies_after:
            script = REPO_ROOT / "tests" / "support" / "worker_killed_after.py"
            markers = log_path.with_suffix(".kills")
            command = [sys.executable, str(script), str(markers), ",".join(dies_after)]
        else:
            command = [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker"]
        self.process = subprocess.Popen(
            [
                *command,
                "-Q",
                queues,
                "-n",
                f"test-{queues.replace(',', '-')}-{os.getpid()}-{time.monotonic_ns()}@%h",
                "--pool",
                "prefork",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if " ready." in self.log_path.read_text():
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited early:\n{self.log_path.read_text()}")
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout}s:\n{self.log_path.read_text()}")

    def kill_hard(self) -> None:
        """SIGKILL the whole worker: parent and pool children, no chance to clean up."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture
def start_worker(process_env, tmp_path):
    """Start a real Celery worker (prefork pool) on the given queues; stopped after the test."""
    started: list[WorkerProcess] = []

    def start(queues: str = "default,gpu", *, dies_after: list[str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(process_env, queues, tmp_path / f"worker-{len(started)}.log", dies_after)
        started.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def start_dispatcher(process_env, tmp_path):
    """Start the real dispatcher (`manage.py run_dispatcher`: relay and periodic work) with
    process_env (adjust it first); stopped after the test."""
    started: list[tuple[subprocess.Popen, object]] = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"dispatcher-{len(started)}.log", "w")
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_dispatcher"],
            cwd=REPO_ROOT,
            env=process_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        log.close()


@pytest.fixture
def purge_broker():
    """Drop messages left on the broker by earlier tests (their rows are gone)."""
    from kombu import Queue

    with app.connection_for_write() as connection:
        for name in ALL_QUEUES:
            queue = Queue(name)(connection.default_channel)
            queue.declare()
            queue.purge()


def consume_published(topic: str) -> int:
    """Run this process's consumers on every event of `topic` not yet consumed, as a worker would;
    returns how many events were consumed."""

    pending = (
        OutboxEvent.objects.filter(topic=topic)
        .exclude(id__in=ProcessedEvent.objects.values("event_id"))
        .order_by("created_at")
    )
    events = list(pending)
    for event in events:
        outbox_event_consume(event_id=event.id)
    return len(events)


def wait_until(predicate, *, timeout: float = 60, interval: float = 0.2, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


@pytest.fixture
def relay():
    """One pass of the real outbox relay, publishing to the real broker."""

    return lambda: outbox_relay_once(publish=celery_publish)
