from datetime import timedelta

import pytest
from django.utils import timezone

from erasure_platform.core.errors import ApplicationError
from erasure_platform.core.models import AuditEvent, Job, OutboxEvent
from erasure_platform.core.services.jobs import (
    job_cancel,
    job_claim,
    job_create,
    job_execute,
    job_handler,
    jobs_reap_expired,
)
from tests.platform.conftest import wait_until


def run_messages(job) -> int:
    return OutboxEvent.objects.filter(topic="job.run", payload__job_id=str(job.id)).count()


@pytest.mark.django_db
def test_creating_a_job_audits_and_announces_it_in_one_go():
    job = job_create(kind="system.selftest", params={"steps": 2, "step_seconds": 0}, actor="user:1")
    assert job.status == Job.Status.QUEUED and job.queue == "default"
    assert run_messages(job) == 1
    assert AuditEvent.objects.filter(action="job.created", entity_id=str(job.id)).exists()


@pytest.mark.django_db
def test_idempotency_key_returns_the_same_job():
    first = job_create(kind="system.selftest", params={}, actor="a", idempotency_key="batch-1")
    second = job_create(kind="system.selftest", params={}, actor="a", idempotency_key="batch-1")
    assert first.id == second.id and Job.objects.count() == 1


@pytest.mark.django_db
def test_unknown_job_kind_is_refused():
    with pytest.raises(ApplicationError) as error:
        job_create(kind="nope", params={}, actor="a")
    assert error.value.code == "unknown_job_kind"
    assert Job.objects.count() == 0


@pytest.mark.django_db
def test_execute_runs_to_success_and_a_redelivery_is_skipped():
    job = job_create(kind="system.selftest", params={"steps": 3, "step_seconds": 0}, actor="a")
    assert job_execute(job_id=job.id, worker="w1") == "succeeded"
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 1.0 and job.result["steps"] == 3
    assert job.state["done_steps"] == [0, 1, 2]
    assert job_execute(job_id=job.id, worker="w2") == "skipped"
    assert OutboxEvent.objects.filter(topic="job.succeeded").count() == 1


@pytest.mark.django_db
def test_a_live_lease_keeps_other_workers_out():
    job = job_create(kind="system.selftest", params={"steps": 1}, actor="a")
    assert job_claim(job_id=job.id, worker="w1") is not None
    assert job_claim(job_id=job.id, worker="w2") is None
    assert job_execute(job_id=job.id, worker="w2") == "skipped"


@pytest.mark.django_db
def test_bad_params_fail_the_job_permanently():
    job = job_create(kind="system.selftest", params={"steps": "many"}, actor="a")
    assert job_execute(job_id=job.id, worker="w1") == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and "params.steps" in job.error


@pytest.mark.django_db
def test_unexpected_errors_retry_with_backoff_then_fail(monkeypatch):
    calls = []

    @job_handler("test.flaky", queue="default")
    def flaky(context):
        calls.append(context.attempt)
        raise OSError("disk hiccup")

    job = job_create(kind="test.flaky", params={}, actor="a", max_attempts=2)
    assert job_execute(job_id=job.id, worker="w1") == "retry"
    job.refresh_from_db()
    assert job.status == "queued" and "disk hiccup" in job.error
    delayed = OutboxEvent.objects.filter(topic="job.run", payload__job_id=str(job.id)).latest("created_at")
    assert delayed.available_at > timezone.now()
    assert job_execute(job_id=job.id, worker="w1") == "retry"
    job.refresh_from_db()
    assert job.status == "failed" and job.attempts == 2 and calls == [1, 2]


@pytest.mark.django_db
def test_reaper_requeues_expired_leases_and_fails_exhausted_ones():
    alive = job_create(kind="system.selftest", params={}, actor="a")
    lost = job_create(kind="system.selftest", params={}, actor="a")
    exhausted = job_create(kind="system.selftest", params={}, actor="a", max_attempts=1)
    for job in (alive, lost, exhausted):
        job_claim(job_id=job.id, worker="w1")
    past = timezone.now() - timedelta(seconds=1)
    Job.objects.filter(pk__in=[lost.id, exhausted.id]).update(lease_expires_at=past)

    counts = jobs_reap_expired()
    assert counts["requeued"] == 1 and counts["failed"] == 1
    statuses = {job.id: job.status for job in Job.objects.all()}
    assert statuses == {alive.id: "running", lost.id: "queued", exhausted.id: "failed"}
    assert run_messages(lost) == 2
    assert AuditEvent.objects.filter(action="job.requeued", entity_id=str(lost.id)).exists()


@pytest.mark.django_db
def test_cancel_refuses_a_finished_job():
    job = job_create(kind="system.selftest", params={"steps": 1, "step_seconds": 0}, actor="a")
    job_execute(job_id=job.id, worker="w1")
    with pytest.raises(ApplicationError) as error:
        job_cancel(job_id=job.id, actor="a")
    assert error.value.status == 409


@pytest.mark.django_db
def test_cancelled_job_is_never_run():
    job = job_create(kind="system.selftest", params={"steps": 1}, actor="a")
    job_cancel(job_id=job.id, actor="a")
    assert job_execute(job_id=job.id, worker="w1") == "skipped"


def test_job_survives_sigkill_of_its_worker(process_env, start_worker, purge_broker, relay, settings):
    settings.JOB_LEASE_SECONDS = 3
    process_env["ERASURE_JOB_LEASE_SECONDS"] = "3"
    job = job_create(kind="system.selftest_gpu", params={"steps": 12, "step_seconds": 0.5}, actor="test")
    assert relay() == 1

    first = start_worker("gpu")
    wait_until(lambda: Job.objects.get(pk=job.id).progress >= 0.25, message="the job to make progress")
    first.kill_hard()
    killed_at = Job.objects.get(pk=job.id)
    assert killed_at.status == "running" and killed_at.progress < 1.0
    done_before_kill = set(killed_at.state["done_steps"])

    # Nothing renews the lease now; once it lapses the reaper puts the job back.
    wait_until(lambda: jobs_reap_expired()["requeued"] == 1, timeout=30, message="the reaper to requeue the job")
    assert relay() >= 1
    start_worker("gpu")
    finished = wait_until(
        lambda: (job_row := Job.objects.get(pk=job.id)).status in Job.FINISHED and job_row,
        timeout=90,
        message="the job to finish on the second worker",
    )
    assert finished.status == "succeeded", finished.error
    assert finished.attempts == 2
    assert finished.state["done_steps"] == list(range(12))
    # Resumed, not restarted: the second attempt skipped what the first had recorded.
    assert not done_before_kill & set(finished.result["executed_in_last_attempt"])
    assert AuditEvent.objects.filter(action="job.requeued", entity_id=str(job.id)).count() == 1
