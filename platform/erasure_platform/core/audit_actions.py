"""The audit trail's vocabulary: every action an audit event may record, the entity it is about and
the facts its data must hold. Regulators read these events; `audit_record` refuses an undeclared
action, another entity type, or data missing a declared key (as `topic_check` does for the outbox),
and tests/platform/core/test_audit_actions.py holds every call site to this table.

Add an action here first, with the keys a reader needs to understand it; the data may hold more."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AuditAction(StrEnum):
    # accounts
    USER_CREATED = "user.created"
    USER_ROLES_CHANGED = "user.roles_changed"
    # requests (subject_requests)
    REQUEST_SUBMITTED = "request.submitted"
    REQUEST_RECEIPT_CONFIRMED = "request.receipt_confirmed"
    REQUEST_MARKED_DUPLICATE = "request.marked_duplicate"
    REQUEST_IDENTITY_VERIFIED = "request.identity_verified"
    REQUEST_IDENTITY_CODE_REJECTED = "request.identity_code_rejected"
    REQUEST_IDENTITY_CODE_RESENT = "request.identity_code_resent"
    REQUEST_GRANTED = "request.granted"
    REQUEST_REFUSED = "request.refused"
    REQUEST_EXTENDED = "request.extended"
    REQUEST_REOPENED = "request.reopened"
    REQUEST_ERASURE_PROGRESS = "request.erasure_progress"
    REQUEST_COMPLETED = "request.completed"
    REQUEST_COMPLETION_IGNORED = "request.completion_ignored"
    REQUEST_CONTACT_PURGED = "request.contact_purged"
    # datasets, imports and identity maps (registry)
    DATASET_REGISTERED = "dataset.registered"
    DATASET_IMPORT_STARTED = "dataset.import_started"
    DATASET_IMPORTED = "dataset.imported"
    DATASET_IMPORT_REFUSED = "dataset.import_refused"
    DATASET_VERSION_REGISTERED = "dataset_version.registered"
    DATASET_VERSION_ERASED = "dataset_version.erased"
    DATASET_SOURCE_ERASED = "dataset_source.erased"
    IDENTITY_MAP_REGISTERED = "identity_map.registered"
    IDENTITY_MAP_IMPORTED = "identity_map.imported"
    IDENTITY_MAP_IMPORT_REFUSED = "identity_map.import_refused"
    IDENTITY_MAP_ENTRIES_ERASED = "identity_map.entries_erased"
    # models, versions, releases, recipients (registry)
    MODEL_REGISTERED = "model.registered"
    MODEL_SETTINGS_CHANGED = "model.settings_changed"
    MODEL_ROLLED_BACK = "model.rolled_back"
    MODEL_VERSION_CREATED = "model_version.created"
    MODEL_VERSION_IMPORTED = "model_version.imported"
    MODEL_VERSION_VERIFIED = "model_version.verified"
    MODEL_VERSION_APPROVED = "model_version.approved"
    MODEL_VERSION_REJECTED = "model_version.rejected"
    MODEL_VERSION_RELEASED_INITIAL = "model_version.released_initial"
    CONSUMER_REGISTERED = "consumer.registered"
    CONSUMER_NOTIFIED = "consumer.notified"
    # erasure plans and unlearning batches (orchestration)
    ERASURE_PLAN_CREATED = "erasure_plan.created"
    ERASURE_PLAN_REFUSED = "erasure_plan.refused"
    ERASURE_PLAN_DATASETS_ERASED = "erasure_plan.datasets_erased"
    ERASURE_PLAN_MODEL_SKIPPED = "erasure_plan.model_skipped"
    ERASURE_PLAN_COMPLETED = "erasure_plan.completed"
    ERASURE_PLAN_FAILED = "erasure_plan.failed"
    ERASURE_PLAN_FORGET_SET_KEPT = "erasure_plan.forget_set_kept"
    ERASURE_PLAN_FORGET_SET_DESTROYED = "erasure_plan.forget_set_destroyed"
    BATCH_MEMBER_ADDED = "batch.member_added"
    BATCH_SCHEDULED = "batch.scheduled"
    BATCH_STARTED_MANUALLY = "batch.started_manually"
    BATCH_CLOSED = "batch.closed"
    BATCH_CANDIDATE_CREATED = "batch.candidate_created"
    BATCH_RESTORING_CANDIDATE_CREATED = "batch.restoring_candidate_created"
    BATCH_CANDIDATE_REJECTED = "batch.candidate_rejected"
    BATCH_NOTHING_TO_UNLEARN = "batch.nothing_to_unlearn"
    BATCH_FAILED = "batch.failed"
    BATCH_RESTORE_STARTED = "batch.restore_started"
    BATCH_SHARDS_RETRAINED = "batch.shards_retrained"
    BATCH_QUALITY_RESTORED = "batch.quality_restored"
    BATCH_RESTORE_FAILED = "batch.restore_failed"
    # evidence
    CERTIFICATE_ISSUED = "certificate.issued"
    REPORT_REQUESTED = "report.requested"
    REPORT_GENERATED = "report.generated"
    # jobs and diagnostics (core)
    JOB_CREATED = "job.created"
    JOB_STARTED = "job.started"
    JOB_RETRY_SCHEDULED = "job.retry_scheduled"
    JOB_REQUEUED = "job.requeued"
    JOB_SUCCEEDED = "job.succeeded"
    JOB_FAILED = "job.failed"
    JOB_CANCELLED = "job.cancelled"
    SYSTEM_PONG = "system.pong"


@dataclass(frozen=True)
class ActionContract:
    entity_type: str
    payload: tuple[str, ...]  # keys the event's data must hold (it may hold more)
    meaning: str


A = AuditAction
REQUEST = "erasure_request"
CONTRACT: dict[AuditAction, ActionContract] = {
    A.USER_CREATED: ActionContract("user", ("username", "roles"), "a staff account was created"),
    A.USER_ROLES_CHANGED: ActionContract("user", ("username", "before", "after"), "a staff account's roles changed"),
    A.REQUEST_SUBMITTED: ActionContract(
        REQUEST, ("reference", "jurisdiction", "channel", "due_on", "scope_type"), "a data owner filed a request"
    ),
    A.REQUEST_RECEIPT_CONFIRMED: ActionContract(REQUEST, ("confirmation_due",), "the owner was sent a receipt"),
    A.REQUEST_MARKED_DUPLICATE: ActionContract(REQUEST, ("duplicate_of",), "the request repeats an open one"),
    A.REQUEST_IDENTITY_VERIFIED: ActionContract(REQUEST, (), "the owner proved control of the identifier"),
    A.REQUEST_IDENTITY_CODE_REJECTED: ActionContract(REQUEST, ("attempts",), "a wrong one-time code was entered"),
    A.REQUEST_IDENTITY_CODE_RESENT: ActionContract(REQUEST, ("sends",), "a new one-time code was sent"),
    A.REQUEST_GRANTED: ActionContract(REQUEST, ("reason", "due_on"), "an officer granted the erasure"),
    A.REQUEST_REFUSED: ActionContract(REQUEST, ("ground", "reason"), "an officer refused it on a legal ground"),
    A.REQUEST_EXTENDED: ActionContract(
        REQUEST, ("reason", "due_on", "previous_due_on"), "an officer extended the deadline"
    ),
    A.REQUEST_REOPENED: ActionContract(REQUEST, ("reason", "previous_status", "status"), "an officer reopened it"),
    A.REQUEST_ERASURE_PROGRESS: ActionContract(REQUEST, ("stage", "detail"), "the erasure reached a stage"),
    A.REQUEST_COMPLETED: ActionContract(REQUEST, ("datasets", "models"), "every dataset and model is clean"),
    A.REQUEST_COMPLETION_IGNORED: ActionContract(REQUEST, ("status",), "a late completion was not applied"),
    A.REQUEST_CONTACT_PURGED: ActionContract(REQUEST, (), "the owner's contact details were purged"),
    A.DATASET_REGISTERED: ActionContract("dataset", ("name", "purpose"), "a dataset was registered"),
    A.DATASET_IMPORT_STARTED: ActionContract("dataset", ("job", "source"), "an import of a team's records started"),
    A.DATASET_IMPORTED: ActionContract(
        "dataset_version", ("version_id", "records", "imported", "source"), "a team's records became a version"
    ),
    A.DATASET_IMPORT_REFUSED: ActionContract(
        "dataset", ("refused_count", "first_refused", "source"), "an import was refused: nothing was written"
    ),
    A.DATASET_VERSION_REGISTERED: ActionContract(
        "dataset_version", ("dataset", "version_id", "manifest_sha256", "records"), "a dataset version was recorded"
    ),
    A.DATASET_VERSION_ERASED: ActionContract(
        "dataset_version",
        ("dataset", "version_before", "version_after", "request_id", "removed"),
        "records were erased from a dataset",
    ),
    A.DATASET_SOURCE_ERASED: ActionContract(
        "dataset_version", ("dataset", "request_id", "kind", "action", "rows"), "erasure reached the records' source"
    ),
    A.IDENTITY_MAP_REGISTERED: ActionContract("identity_map", ("name",), "an identity map was registered"),
    A.IDENTITY_MAP_IMPORTED: ActionContract(
        "identity_map", ("links", "people", "source"), "an identity map's links were replaced from its source"
    ),
    A.IDENTITY_MAP_IMPORT_REFUSED: ActionContract(
        "identity_map", ("refused_count", "first_refused", "source"), "an identity map import was refused"
    ),
    A.IDENTITY_MAP_ENTRIES_ERASED: ActionContract(
        "identity_map", ("request_id", "links_removed"), "a person's links were erased with their request"
    ),
    A.MODEL_REGISTERED: ActionContract("model", ("name", "kind"), "a model was registered"),
    A.MODEL_SETTINGS_CHANGED: ActionContract("model", (), "a model's unlearning settings changed"),
    A.MODEL_ROLLED_BACK: ActionContract("model", ("from", "to", "reason"), "production moved back a version"),
    A.MODEL_VERSION_CREATED: ActionContract(
        "model_version", ("model", "version_id", "method", "trained_on"), "a model version was made"
    ),
    A.MODEL_VERSION_IMPORTED: ActionContract(
        "model_version",
        ("model", "version_id", "trained_on", "weights_digest"),
        "a model trained elsewhere was imported",
    ),
    A.MODEL_VERSION_VERIFIED: ActionContract(
        "model_version", ("outcome", "failed_metrics", "inconclusive_metrics"), "a candidate was attacked and judged"
    ),
    A.MODEL_VERSION_APPROVED: ActionContract(
        "model_version", ("model", "version_id", "reason", "verdict_outcome"), "an approver released a version"
    ),
    A.MODEL_VERSION_REJECTED: ActionContract(
        "model_version", ("model", "version_id", "reason"), "a candidate was rejected"
    ),
    A.MODEL_VERSION_RELEASED_INITIAL: ActionContract(
        "model_version", ("model", "version_id"), "a model's first version went to production"
    ),
    A.CONSUMER_REGISTERED: ActionContract("model", ("consumer", "name"), "a downstream recipient was registered"),
    A.CONSUMER_NOTIFIED: ActionContract(
        "model", ("consumer", "old_version", "new_version"), "a recipient was told the model changed (Art. 19)"
    ),
    A.ERASURE_PLAN_CREATED: ActionContract(
        "erasure_plan", ("request_id", "datasets", "models"), "lineage found what holds the person's data"
    ),
    A.ERASURE_PLAN_REFUSED: ActionContract("outbox_event", ("error",), "a granted request could not be planned"),
    A.ERASURE_PLAN_DATASETS_ERASED: ActionContract(
        "erasure_plan", ("request_id", "datasets"), "the person's records were erased from every dataset"
    ),
    A.ERASURE_PLAN_MODEL_SKIPPED: ActionContract(
        "erasure_plan", ("model", "reason"), "an officer recorded why a model is not unlearned"
    ),
    A.ERASURE_PLAN_COMPLETED: ActionContract("erasure_plan", ("request_id",), "the plan finished"),
    A.ERASURE_PLAN_FAILED: ActionContract("erasure_plan", ("error",), "the plan failed"),
    A.ERASURE_PLAN_FORGET_SET_KEPT: ActionContract(
        "erasure_plan", ("key",), "the encrypted forget set is kept until the retrain is verified"
    ),
    A.ERASURE_PLAN_FORGET_SET_DESTROYED: ActionContract("erasure_plan", ("key",), "the forget set was destroyed"),
    A.BATCH_MEMBER_ADDED: ActionContract("unlearning_batch", ("request_id", "model"), "a request joined a batch"),
    A.BATCH_SCHEDULED: ActionContract("unlearning_batch", ("closes_at",), "a batch's closing time was set"),
    A.BATCH_STARTED_MANUALLY: ActionContract("unlearning_batch", ("model",), "an engineer started a batch at once"),
    A.BATCH_CLOSED: ActionContract("unlearning_batch", ("members",), "a batch closed and its unlearning started"),
    A.BATCH_CANDIDATE_CREATED: ActionContract(
        "unlearning_batch", ("candidate", "method"), "unlearning made a candidate version"
    ),
    A.BATCH_RESTORING_CANDIDATE_CREATED: ActionContract(
        "unlearning_batch", ("candidate", "method"), "the restoring retrain made a candidate"
    ),
    A.BATCH_CANDIDATE_REJECTED: ActionContract("unlearning_batch", ("candidate", "status"), "a candidate was rejected"),
    A.BATCH_NOTHING_TO_UNLEARN: ActionContract("unlearning_batch", ("version",), "the model held none of the data"),
    A.BATCH_FAILED: ActionContract("unlearning_batch", ("error",), "unlearning failed"),
    A.BATCH_RESTORE_STARTED: ActionContract("unlearning_batch", ("shards", "jobs"), "shard retrains were started"),
    A.BATCH_SHARDS_RETRAINED: ActionContract("unlearning_batch", ("shards",), "every affected shard was retrained"),
    A.BATCH_QUALITY_RESTORED: ActionContract("unlearning_batch", ("version",), "the retrained version was released"),
    A.BATCH_RESTORE_FAILED: ActionContract("unlearning_batch", ("error",), "the restoring retrain failed"),
    A.CERTIFICATE_ISSUED: ActionContract(REQUEST, ("certificate_id",), "a certificate of erasure was issued"),
    A.REPORT_REQUESTED: ActionContract("report", ("kind",), "a regulator report was requested"),
    A.REPORT_GENERATED: ActionContract("report", ("json_sha256",), "a regulator report was generated"),
    A.JOB_CREATED: ActionContract("job", ("kind",), "a job was created"),
    A.JOB_STARTED: ActionContract("job", ("attempt",), "a worker started a job"),
    A.JOB_RETRY_SCHEDULED: ActionContract("job", ("attempt", "error"), "a job failed and will be retried"),
    A.JOB_REQUEUED: ActionContract("job", ("lost_worker",), "a job whose worker died was requeued"),
    A.JOB_SUCCEEDED: ActionContract("job", (), "a job finished"),
    A.JOB_FAILED: ActionContract("job", (), "a job failed for good"),
    A.JOB_CANCELLED: ActionContract("job", (), "a job was cancelled"),
    A.SYSTEM_PONG: ActionContract("outbox_event", ("ping",), "diagnostics: an event went outbox → broker → worker"),
}


def audit_action_check(action: str, entity_type: str, data: dict) -> None:
    """Raise ValueError for an undeclared action, another entity type, or data lacking a declared key
    (a programming error, found by the tests that write the event)."""
    try:
        contract = CONTRACT[AuditAction(action)]
    except ValueError:
        raise ValueError(f"audit action {action!r} is not declared in erasure_platform.core.audit_actions") from None
    if entity_type != contract.entity_type:
        raise ValueError(f"audit action {action!r} is about a {contract.entity_type}, not a {entity_type}")
    missing = [key for key in contract.payload if key not in data]
    if missing:
        raise ValueError(f"audit action {action!r} data lacks {missing}")
