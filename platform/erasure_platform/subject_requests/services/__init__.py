"""Writes for erasure requests. Each state change: the row, an audit event and (where others care)
an outbox event, in one transaction."""

from erasure_platform.subject_requests.services.intake import (  # noqa: F401
    request_create,
    request_purge_contact,
    request_resend_code,
    request_verify_identity,
)
from erasure_platform.subject_requests.services.review import (  # noqa: F401
    request_complete,
    request_extend,
    request_grant,
    request_record_progress,
    request_refuse,
    request_reopen,
)
