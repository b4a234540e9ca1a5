"""The event contract: every outbox topic the platform publishes, the payload keys its consumers
may rely on, and whether anything inside the platform consumes it. Publishers and consumers
import the names from here (one spelling), outbox_publish refuses an undeclared topic or a
payload without its keys, and a test checks that every declared internal topic has a consumer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TopicContract:
    payload: tuple[str, ...]  # keys every payload carries (more may follow)
    summary: str
    # External: published for the relay or for observers outside the platform (no consumer here).
    external: bool = False


REQUEST_GRANTED = "request.granted"
REQUEST_ERASURE_PROGRESS = "request.erasure_progress"
REQUEST_ERASURE_COMPLETED = "request.erasure_completed"
REQUEST_COMPLETED = "request.completed"
CERTIFICATE_ISSUED = "certificate.issued"
BATCH_DUE = "orchestration.batch_due"
PLAN_COMPLETED = "orchestration.plan_completed"
MODEL_VERSION_RELEASED = "model_version.released"
MODEL_VERSION_REJECTED = "model_version.rejected"
REGISTRY_CONSUMER_NOTIFY = "registry.consumer_notify"
JOB_RUN = "job.run"
JOB_SUCCEEDED = "job.succeeded"
JOB_FAILED = "job.failed"
JOB_CANCELLED = "job.cancelled"
SYSTEM_PING = "system.ping"
OWNER_EMAIL = "owner.email"
JOB_FINISHED = {"succeeded": JOB_SUCCEEDED, "failed": JOB_FAILED, "cancelled": JOB_CANCELLED}  # by Job.Status

CONTRACT: dict[str, TopicContract] = {
    REQUEST_GRANTED: TopicContract(
        ("request_id", "subject_key", "scope", "deadline_at"), "an officer granted an erasure: orchestration plans it"
    ),
    REQUEST_ERASURE_PROGRESS: TopicContract(
        ("request_id", "stage", "detail"), "orchestration reached a stage of a request's erasure"
    ),
    REQUEST_ERASURE_COMPLETED: TopicContract(
        ("request_id", "datasets", "models"), "every dataset and model is clean: the request can complete"
    ),
    REQUEST_COMPLETED: TopicContract(("request_id",), "a request completed: evidence issues its certificate"),
    CERTIFICATE_ISSUED: TopicContract(
        ("request_id", "certificate_id"), "a certificate of erasure was issued", external=True
    ),
    BATCH_DUE: TopicContract(("batch_id",), "an unlearning batch's window closed"),
    MODEL_VERSION_RELEASED: TopicContract(
        ("version_id", "batch_id"), "an approver released a model version: its batch's requests are done"
    ),
    MODEL_VERSION_REJECTED: TopicContract(
        ("version_id", "batch_id", "reason"), "an approver rejected a candidate: its batch waits for another try"
    ),
    REGISTRY_CONSUMER_NOTIFY: TopicContract(
        ("consumer_id", "model", "old_version", "new_version"),
        "tell a downstream recipient (GDPR Art. 19) that a model changed",
    ),
    PLAN_COMPLETED: TopicContract(("plan_id",), "an erasure plan finished: destroy its forget set"),
    JOB_RUN: TopicContract(("job_id", "queue"), "run a job: the relay routes it to the job's queue", external=True),
    JOB_SUCCEEDED: TopicContract(("job_id", "kind"), "a job finished", external=True),
    JOB_FAILED: TopicContract(("job_id", "kind"), "a job failed for good", external=True),
    JOB_CANCELLED: TopicContract(("job_id", "kind"), "a job was cancelled", external=True),
    SYSTEM_PING: TopicContract((), "diagnostics: proves outbox → broker → worker end to end"),
    OWNER_EMAIL: TopicContract(
        ("request_id", "recipient", "subject", "body_encrypted"),
        "one e-mail to a request's owner, sent by a worker (never on the request path)",
    ),
}


def topic_check(topic: str, payload: dict) -> None:
    """Raise ValueError for an undeclared topic or a payload missing a declared key (a programming error)."""
    contract = CONTRACT.get(topic)
    if contract is None:
        raise ValueError(f"outbox topic {topic!r} is not declared in erasure_platform.core.topics")
    missing = [key for key in contract.payload if key not in payload]
    if missing:
        raise ValueError(f"outbox topic {topic!r} payload lacks {missing}")
