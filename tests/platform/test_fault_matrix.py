"""The fault matrix (issue #13): real processes killed or restarted at the worst moments, and what
must hold afterwards — no accepted request lost, every effect exactly once.

- the worker process running a job (the one holding the GPU) SIGKILLed right after each durable
  step of an erasure plan (dataset erased, candidate recorded, verdict recorded) before its job
  could finish: the reaper resumes each job, and the plan ends with one dataset version, one
  candidate, one verdict, and proceeds to release (the whole worker killed, parent included, is
  tests/platform/core/test_jobs.py::test_job_survives_sigkill_of_its_worker);
- PostgreSQL stopped and started under a stream of HTTP intakes: each 201 is in the database,
  every other answer is the API's JSON 503, and no request is recorded twice;
- Redis crashed (no persistence: it forgets every queued message) under a stream of intakes and
  their e-mail events: each event is delivered, once, after Redis returns.

The dispatcher killed during a relay is tests/platform/core/test_outbox.py
(test_events_survive_relay_killed_between_publish_and_mark_sent: one audit effect, one e-mail, one
certificate per event).

PostgreSQL and Redis are the ones scripts/test started (it exports how to restart them); run
outside scripts/test, these tests fail and say so.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlparse

import pytest
from django.db import connections
from django.utils import timezone

from erasure_platform.core.models import AuditEvent, Job, OutboxEvent, ProcessedEvent
from erasure_platform.core.services.jobs import job_create
from erasure_platform.core.topics import OWNER_EMAIL
from erasure_platform.orchestration.models import BatchStatus, ErasurePlan
from erasure_platform.orchestration.services.plans import plan_erasure
from erasure_platform.registry.models import DatasetVersion, ModelVersion
from erasure_platform.registry.services.release import release_approve
from erasure_platform.subject_requests.models import ErasureRequest
from erasure_platform.subject_requests.services.intake import request_subject_key
from tests.platform.conftest import wait_until
from tests.platform.registry.helpers import World, deadline, users

LEASE_SECONDS = 4


# ---- the services scripts/test started, restarted from here -------------------------------------------


class Postgres:
    def __init__(self):
        self.data = os.environ["ERASURE_TEST_PG_DATA"]
        user = os.environ.get("ERASURE_TEST_PG_USER")
        self.pg_ctl = [*(["runuser", "-u", user, "--"] if user else []), f"{os.environ['ERASURE_TEST_PG_BIN']}/pg_ctl"]
        # The server's own command line (port, socket folder, settings), to start it again as it was.
        arguments = shlex.split(Path(self.data, "postmaster.opts").read_text())[1:]
        data_flag = arguments.index("-D")
        self.options = shlex.join(arguments[:data_flag] + arguments[data_flag + 2 :])

    def _run(self, *args: str) -> None:
        subprocess.run(
            [*self.pg_ctl, "-D", self.data, "-w", "-t", "60", *args], check=True, capture_output=True, timeout=90
        )

    def stop(self) -> None:
        self._run("-m", "fast", "stop")  # every session is terminated, in-flight transactions abort

    def start(self) -> None:
        self._run("-l", f"{self.data}/server.log", "-o", self.options, "start")
        connections.close_all()  # this process's connections died with the old server


class Redis:
    def __init__(self):
        self.config = os.environ["ERASURE_TEST_REDIS_CONF"]
        settings = dict(line.split(" ", 1) for line in Path(self.config).read_text().splitlines() if " " in line)
        self.pidfile = Path(settings["pidfile"])
        self.port = int(settings["port"])

    def crash(self) -> None:
        """SIGKILL: nothing persisted, so every message the broker held is gone."""
        pid = int(self.pidfile.read_text())
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, message="redis to die")
        self.pidfile.unlink(missing_ok=True)

    def start(self) -> None:
        subprocess.run(["redis-server", self.config], check=True, timeout=30)
        wait_until(self.pidfile.exists, timeout=30, message="redis to start")
        wait_until(self._answers, timeout=30, message="redis to answer")

    def _answers(self) -> bool:
        done = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
        return done.stdout.strip() == "PONG"


@pytest.fixture
def postgres():
    assert os.environ.get("ERASURE_TEST_PG_DATA"), (
        "run the suite through scripts/test: this test restarts the PostgreSQL it starts (ERASURE_TEST_PG_DATA)"
    )
    server = Postgres()
    yield server
    if subprocess.run([*server.pg_ctl, "-D", server.data, "status"], capture_output=True).returncode != 0:
        server.start()  # a failed test must not leave the rest of the suite without a database


@pytest.fixture
def redis_broker():
    assert os.environ.get("ERASURE_TEST_REDIS_CONF"), (
        "run the suite through scripts/test: this test restarts the Redis it starts (ERASURE_TEST_REDIS_CONF)"
    )
    server = Redis()
    yield server
    if not server.pidfile.exists():
        server.start()


# ---- an HTTP client streaming intakes ------------------------------------------------------------------


class IntakeStream(threading.Thread):
    """Files `total` requests, one identifier each, retrying a 503 as its Retry-After invites (sooner:
    the test has no time to lose). Records every answer."""

    def __init__(self, base_url: str, total: int, *, timeout: float = 150):
        super().__init__(daemon=True)
        self.url = f"{base_url}/api/requests"
        self.total = total
        self.deadline = time.monotonic() + timeout
        self.accepted: dict[str, str] = {}  # identifier → reference
        self.refusals: list[tuple[int, str, dict, str]] = []  # status, content type, body, Retry-After
        self.unexpected: list[str] = []
        self.stop_early = threading.Event()

    def post(self, identifier: str):
        body = json.dumps({"identifier": identifier, "jurisdiction": "GDPR"}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json", "Accept": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def run(self) -> None:
        for number in range(self.total):
            identifier = f"fault-{uuid.uuid4().hex[:10]}-{number}@example.com"
            while not self.stop_early.is_set() and time.monotonic() < self.deadline:
                try:
                    status, headers, raw = self.post(identifier)
                except OSError as error:  # the web server itself must never drop a connection
                    self.unexpected.append(f"{identifier}: {error!r}")
                    return
                if status == 201:
                    self.accepted[identifier] = json.loads(raw)["reference"]
                    break
                content_type = headers.get("Content-Type", "")
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = {"unparsed": raw[:300].decode(errors="replace")}
                self.refusals.append((status, content_type, parsed, headers.get("Retry-After", "")))
                if status != 503:
                    return
                time.sleep(0.3)
            else:
                return

    @property
    def unavailable_answers(self) -> int:
        return len(self.refusals)

    def check_refusals(self) -> None:
        assert not self.unexpected, self.unexpected
        for status, content_type, body, retry_after in self.refusals:
            assert status == 503, (status, body)
            assert content_type.startswith("application/json"), (content_type, body)
            assert body["error"]["code"] == "service_unavailable", body
            assert retry_after.isdigit(), retry_after


@pytest.fixture
def intake_server(live_server, settings):
    """The live server (this process, its own database connections) with intake throttling high
    enough for a stream from one address — but still on, so its cache table is in the path."""
    settings.ERASURE_INTAKE_THROTTLE_RATE = "100000/minute"
    settings.CACHES = {name: {**config, "KEY_PREFIX": uuid.uuid4().hex} for name, config in settings.CACHES.items()}
    return live_server.url


def requests_of(identifiers) -> dict:

    keys = {request_subject_key(identifier): identifier for identifier in identifiers}
    found: dict[str, list[str]] = {}
    for key, reference in ErasureRequest.objects.filter(subject_key__in=keys).values_list("subject_key", "reference"):
        found.setdefault(keys[key], []).append(reference)
    return found


# ---- c) PostgreSQL restarted under a stream of intakes ----------------------------------------------------


def test_postgres_restart_under_a_stream_of_intakes(transactional_db, postgres, intake_server):
    stream = IntakeStream(intake_server, total=30)
    stream.start()
    wait_until(lambda: len(stream.accepted) >= 5 or not stream.is_alive(), timeout=60, message="first intakes")

    postgres.stop()
    try:
        # The database is down: the web tier must answer (JSON 503), not hang or fail in HTML.
        wait_until(lambda: stream.unavailable_answers >= 3 or not stream.is_alive(), timeout=60, message="503 answers")
    finally:
        postgres.start()
    stream.join(timeout=180)

    assert not stream.is_alive(), "the intake stream did not finish"
    stream.check_refusals()
    assert stream.unavailable_answers >= 3, "the outage was not seen by any request"
    assert len(stream.accepted) == 30, f"only {len(stream.accepted)} of 30 requests were accepted after the restart"
    recorded = requests_of(stream.accepted)
    # Every accepted request is there, under the reference its owner was given, exactly once.
    assert {identifier: [reference] for identifier, reference in stream.accepted.items()} == recorded


# ---- d) Redis crashed under a stream of intakes and their e-mail events ---------------------------------


def mail_files_with(folder: Path, needle: str) -> int:
    if not folder.is_dir():
        return 0
    return sum(path.read_text(errors="replace").count(needle) for path in folder.glob("*.log"))


def test_redis_crash_under_a_stream_of_intakes_and_events(
    process_env, start_worker, start_dispatcher, purge_broker, redis_broker, intake_server, settings
):

    # The dispatcher gives a lost message a new delivery after a few seconds (production: minutes).
    process_env.update(
        ERASURE_OUTBOX_REDELIVER_SECONDS="3",
        ERASURE_OUTBOX_REDELIVER_INTERVAL_SECONDS="1",
        ERASURE_JOB_REAP_INTERVAL_SECONDS="2",
    )
    start_dispatcher()
    start_worker("default")
    # A long job keeps the only worker process busy, so published e-mail events wait in Redis.
    busy = job_create(kind="system.selftest", params={"steps": 60, "step_seconds": 0.25}, actor="test")
    wait_until(lambda: Job.objects.get(pk=busy.pk).status == Job.Status.RUNNING, message="the busy job to start")

    stream = IntakeStream(intake_server, total=16)
    stream.start()

    def published_but_unprocessed() -> int:
        published = OutboxEvent.objects.filter(topic=OWNER_EMAIL, published_at__isnull=False).values("id")
        return (
            OutboxEvent.objects.filter(id__in=published)
            .exclude(id__in=ProcessedEvent.objects.values("event_id"))
            .count()
        )

    wait_until(lambda: published_but_unprocessed() >= 4, timeout=60, message="events waiting in the broker")
    assert Job.objects.get(pk=busy.pk).status == Job.Status.RUNNING, "the worker was free: nothing was queued"
    redis_broker.crash()
    accepted_before = len(stream.accepted)
    # Intakes go on while the broker is down: they need only the database.
    wait_until(
        lambda: len(stream.accepted) >= accepted_before + 4 or not stream.is_alive(),
        timeout=60,
        message="intakes while Redis is down",
    )
    redis_broker.start()
    stream.join(timeout=120)
    assert not stream.is_alive(), "the intake stream did not finish"
    stream.check_refusals()
    assert len(stream.accepted) == 16 and not stream.refusals

    events = list(
        OutboxEvent.objects.filter(topic=OWNER_EMAIL).values_list("id", "payload__request_id").order_by("created_at")
    )
    assert len(events) == 2 * 16, "a receipt and a code e-mail per request"

    def all_processed() -> bool:
        ids = [event_id for event_id, _ in events]
        return ProcessedEvent.objects.filter(event_id__in=ids).count() == len(ids)

    wait_until(all_processed, timeout=120, interval=0.5, message="every e-mail event to be processed")
    # The busy job, whose message Redis forgot while it ran, still finishes (its truth is its row).
    wait_until(lambda: Job.objects.get(pk=busy.pk).status in Job.FINISHED, timeout=60, message="busy job end")
    assert Job.objects.get(pk=busy.pk).status == Job.Status.SUCCEEDED

    # Exactly one e-mail per event, each event consumed once; some needed a second publication.
    mail = Path(settings.VAR_DIR) / "mail"
    for event_id, _ in events:
        assert mail_files_with(mail, f"<owner-email-{event_id}@") == 1, event_id
    assert ProcessedEvent.objects.filter(event_id__in=[e for e, _ in events]).count() == len(events)
    assert OutboxEvent.objects.filter(topic=OWNER_EMAIL, publish_attempts__gt=1).exists(), (
        "no event needed a redelivery: the crash did not lose anything, so the test proved nothing"
    )
    assert requests_of(stream.accepted) == {i: [r] for i, r in stream.accepted.items()}


# ---- a) a GPU (and a default) worker killed at each durable step of an erasure plan -------------------


@pytest.mark.django_db(transaction=True)
def test_workers_killed_at_each_step_of_an_erasure_plan(
    settings, process_env, start_worker, start_dispatcher, purge_broker
):

    settings.ERASURE_BATCH_WINDOW_SECONDS = 0
    settings.JOB_LEASE_SECONDS = LEASE_SECONDS
    process_env.update(
        ERASURE_JOB_LEASE_SECONDS=str(LEASE_SECONDS),
        ERASURE_JOB_REAP_INTERVAL_SECONDS="1",
        ERASURE_BATCH_WINDOW_SECONDS="0",
    )
    people = users()
    world = World()
    plan = plan_erasure(request_id="fault-1", subject_key=world.key(0), scope={"type": "all"}, deadline_at=deadline())
    start_dispatcher()  # relays events and reaps lapsed leases all along, as in production

    # The pool process running each job (the one holding the GPU) is SIGKILLed right after the job's
    # durable effect, before the job is marked finished; the reaper hands the job out again.
    kill_points = [
        "erasure_platform.registry.services.datasets:dataset_version_erase",
        "erasure_platform.registry.services.models:model_version_record_sisa",
        "erasure_platform.orchestration.services.candidates:version_verdict_record",
    ]
    worker = start_worker("default,gpu", dies_after=kill_points)

    def candidate_verified():  # the compliant (deactivated) candidate, made first
        version = ModelVersion.objects.filter(model=world.model, batch__isnull=False, method="sisa-deactivate").first()
        if version is None or version.verification_job_id is None:
            return None
        return version if Job.objects.get(pk=version.verification_job_id).status in Job.FINISHED else None

    candidate = wait_until(candidate_verified, timeout=240, interval=0.5, message="the verification job to finish")
    batch = candidate.batch
    wait_until(
        lambda: not OutboxEvent.objects.filter(published_at__isnull=True, available_at__lte=timezone.now()).exists(),
        message="the relay to drain",
    )

    log = worker.log_path.read_text()
    for function in kill_points:
        assert f"{function} returned; killing" in log
    assert "signal 9" in log, log[-3000:]  # Celery saw its pool process killed

    # Each killed job ran twice and succeeded once. Whoever resumed it after its lease lapsed — the
    # reaper (it audits job.requeued) or the broker redelivering the dead pool's message (a lapsed
    # lease may be claimed directly) — is a race; that it was started exactly twice is not.
    plan.refresh_from_db()
    for job_id in (plan.erase_job_id, batch.unlearn_job_id, candidate.verification_job_id):
        job = Job.objects.get(pk=job_id)
        assert (job.status, job.attempts) == (Job.Status.SUCCEEDED, 2), (job.kind, job.status, job.error)
        starts = AuditEvent.objects.filter(action="job.started", entity_id=str(job.id))
        assert sorted(event.data["attempt"] for event in starts) == [1, 2]
        assert AuditEvent.objects.filter(action="job.requeued", entity_id=str(job.id)).count() <= 1

    # One dataset version made by the erasure, and the plan reports what it removed.
    erased = DatasetVersion.objects.filter(dataset=world.dataset, parent=world.version)
    assert erased.count() == 1
    assert AuditEvent.objects.filter(action="dataset_version.erased").count() == 1
    assert plan.datasets[0]["version_after"] == erased.get().version_id
    assert plan.datasets[0]["removed"] and not plan.datasets[0].get("already_erased")
    assert len(plan.datasets[0]["removed"]) == len(erased.get().erasure["removed"])

    # One compliant candidate, one verification job, one verdict (the restoring retrain's candidate,
    # made later by the shard jobs, is at most one more).
    made = ModelVersion.objects.filter(model=world.model, batch=batch)
    assert made.filter(method="sisa-deactivate").count() == 1
    assert made.exclude(method="sisa-deactivate").count() <= 1
    assert Job.objects.filter(kind="orchestration.verify", params__version_id=str(candidate.pk)).count() == 1
    assert AuditEvent.objects.filter(action="model_version.verified", entity_id=str(candidate.pk)).count() == 1
    assert (
        AuditEvent.objects.filter(action="batch.candidate_created", data__candidate=candidate.version_id).count() == 1
    )
    stages = [
        e.payload["stage"]
        for e in OutboxEvent.objects.filter(topic="request.erasure_progress")
        if e.payload["detail"].get("candidate") == candidate.version_id
    ]
    assert stages.count("verifying") == 1 and stages.count("awaiting_approval") == 1, stages
    batch.refresh_from_db()
    assert batch.status == BatchStatus.AWAITING_APPROVAL

    # And the plan proceeds: released, completed, announced once.
    release_approve(version=candidate, approver=people["approver"], reason="exact unlearning")

    def plan_completed():  # the release reaches orchestration as an event, through the worker
        plan.refresh_from_db()
        return plan.status == ErasurePlan.Status.COMPLETED

    wait_until(plan_completed, timeout=60, interval=0.5, message="the plan to complete after the release")
    completed = OutboxEvent.objects.filter(topic="request.erasure_completed")
    assert completed.count() == 1
    assert completed.get().payload["models"][0]["version_after"] == candidate.version_id


def test_the_restartable_services_are_the_ones_in_use():
    """The fault tests restart what scripts/test exported: it must be what the suite talks to."""
    assert os.environ.get("ERASURE_TEST_REDIS_CONF") and os.environ.get("ERASURE_TEST_PG_DATA"), (
        "run through scripts/test"
    )
    assert urlparse(os.environ["CELERY_BROKER_URL"]).port == Redis().port
    port = Path(os.environ["ERASURE_TEST_PG_DATA"], "postmaster.pid").read_text().splitlines()[3]
    assert urlparse(os.environ["DATABASE_URL"]).port == int(port)
