"""Input and output shapes of the erasure-request API (one pair per operation)."""

from __future__ import annotations

from rest_framework import serializers

from erasure_platform.core.api.errors import ApiErrorSerializer  # noqa: F401  (s.ApiErrorSerializer in views)
from erasure_platform.core.api.strict_fields import QueryChoiceField, QueryDateField, QueryIntegerField
from erasure_platform.subject_requests.grounds import ALL_GROUND_CODES
from erasure_platform.subject_requests.models import IdentifierKind, Jurisdiction, RequestStatus, ScopeType

# ---- owners ----


class RequestCreateInputSerializer(serializers.Serializer):
    identifier = serializers.CharField(
        max_length=254, help_text="E-mail address or customer id; stored only as a keyed hash."
    )
    identifier_kind = serializers.ChoiceField(
        choices=IdentifierKind.choices, required=False, help_text="Guessed from the identifier when omitted."
    )
    scope_type = serializers.ChoiceField(choices=ScopeType.choices, default=ScopeType.ALL)
    record_ids = serializers.ListField(
        child=serializers.CharField(max_length=200), required=False, default=list, max_length=1000
    )
    jurisdiction = serializers.ChoiceField(choices=Jurisdiction.choices)
    contact_email = serializers.EmailField(required=False, allow_blank=True, max_length=254)
    message = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class RequestCreateOutputSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    access_token = serializers.CharField(help_text="The owner's private key to this request. Shown once.")
    status_url = serializers.CharField()
    received_on = serializers.DateField()
    due_on = serializers.DateField()
    jurisdiction = serializers.CharField()
    duplicate_of_reference = serializers.CharField(allow_blank=True)


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    action = serializers.CharField()
    label = serializers.CharField()
    detail = serializers.CharField(allow_blank=True)


class RequestOwnerStatusSerializer(serializers.Serializer):
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    status_label = serializers.CharField()
    jurisdiction = serializers.CharField()
    scope_type = serializers.CharField()
    record_ids = serializers.ListField(child=serializers.CharField())
    received_on = serializers.DateField()
    due_on = serializers.DateField()
    days_left = serializers.IntegerField()
    extended = serializers.BooleanField()
    extension_reason = serializers.CharField(allow_blank=True)
    identity_verified = serializers.BooleanField()
    refusal_ground = serializers.CharField(allow_blank=True)
    refusal_ground_label = serializers.CharField(allow_blank=True)
    refusal_reason = serializers.CharField(allow_blank=True)
    duplicate_of_reference = serializers.CharField(allow_blank=True)
    progress_stage = serializers.CharField(allow_blank=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    completion_record = serializers.JSONField(allow_null=True)
    timeline = TimelineEntrySerializer(many=True)


class VerifyInputSerializer(serializers.Serializer):
    code = serializers.RegexField(
        r"^\s*\d{6}\s*$", max_length=12, help_text="The six-digit code e-mailed to the identifier."
    )


# ---- staff ----


class RequestStaffSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    reference = serializers.CharField()
    status = serializers.ChoiceField(choices=RequestStatus.choices)
    jurisdiction = serializers.CharField()
    channel = serializers.CharField()
    nature = serializers.CharField()
    identifier_kind = serializers.CharField()
    scope_type = serializers.CharField()
    record_ids = serializers.ListField(child=serializers.CharField())
    subject_key = serializers.CharField()
    received_at = serializers.DateTimeField()
    received_on = serializers.DateField()
    due_on = serializers.DateField()
    original_due_on = serializers.DateField()
    days_left = serializers.IntegerField()
    overdue = serializers.BooleanField()
    identity_verified_at = serializers.DateTimeField(allow_null=True)
    extended_at = serializers.DateTimeField(allow_null=True)
    extension_reason = serializers.CharField(allow_blank=True)
    decided_by = serializers.CharField(allow_blank=True)
    granted_at = serializers.DateTimeField(allow_null=True)
    refusal_ground = serializers.CharField(allow_blank=True)
    refusal_reason = serializers.CharField(allow_blank=True)
    responded_at = serializers.DateTimeField(allow_null=True)
    response_nature = serializers.CharField(allow_blank=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    progress_stage = serializers.CharField(allow_blank=True)
    reopen_count = serializers.IntegerField()
    duplicate_of = serializers.UUIDField(allow_null=True, source="duplicate_of_id")
    contact_purged_at = serializers.DateTimeField(allow_null=True)
    retain_until = serializers.DateField(allow_null=True)


class RequestQueuePageSerializer(serializers.Serializer):
    """One page of the review queue (limit/offset pagination)."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = RequestStaffSerializer(many=True)


class AuditEntrySerializer(serializers.Serializer):
    sequence = serializers.IntegerField()
    at = serializers.DateTimeField()
    actor = serializers.CharField()
    action = serializers.CharField()
    data = serializers.JSONField()
    hash = serializers.CharField()


class RequestStaffDetailSerializer(RequestStaffSerializer):
    completion_record = serializers.JSONField(allow_null=True)
    timeline = AuditEntrySerializer(many=True)


class GrantInputSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000, default="")


class RefuseInputSerializer(serializers.Serializer):
    ground = serializers.ChoiceField(choices=ALL_GROUND_CODES)
    reason = serializers.CharField(max_length=5000)


class ExtendInputSerializer(serializers.Serializer):
    extension = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=45,
        help_text="GDPR: months (1–2); CCPA: days (1–45). Default: the maximum.",
    )
    reason = serializers.CharField(max_length=5000)


class ReopenInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=5000)


class DashboardSerializer(serializers.Serializer):
    today = serializers.DateField()
    total = serializers.IntegerField()
    open = serializers.IntegerField()
    overdue = serializers.IntegerField()
    due_this_week = serializers.IntegerField()
    closed = serializers.IntegerField()
    median_days_to_close = serializers.FloatField(allow_null=True)
    by_status = serializers.DictField(child=serializers.IntegerField())
    by_jurisdiction = serializers.DictField(child=serializers.IntegerField())
    open_by_jurisdiction = serializers.DictField(child=serializers.IntegerField())


class RequestRecordsQuerySerializer(serializers.Serializer):
    start = QueryDateField(required=False, help_text="First day of receipt (default: 24 months before end)")
    end = QueryDateField(required=False, help_text="Last day of receipt (default: today)")
    file_format = QueryChoiceField(choices=["json", "csv"], default="json")


QUEUE_PAGE_DEFAULT, QUEUE_PAGE_MAX = 50, 500


class RequestQueueQuerySerializer(serializers.Serializer):
    status = QueryChoiceField(
        choices=RequestStatus.values,
        required=False,
        help_text="Only this status (closed ones included); default: every open request",
    )
    jurisdiction = QueryChoiceField(choices=Jurisdiction.values, required=False)
    limit = QueryIntegerField(
        required=False,
        min_value=1,
        max_value=QUEUE_PAGE_MAX,
        help_text=f"Page size (default {QUEUE_PAGE_DEFAULT}, at most {QUEUE_PAGE_MAX})",
    )
    offset = QueryIntegerField(required=False, min_value=0, help_text="Index of the first row of the page")
