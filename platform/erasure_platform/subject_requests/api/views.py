"""Erasure-request API: one class per operation. Owners reach a request only through its token;
staff by role (officers act, auditors read)."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from erasure_platform.accounts.permissions import has_any_role
from erasure_platform.accounts.roles import Role
from erasure_platform.core.api.throttling import IntakeThrottle, VerifyThrottle
from erasure_platform.subject_requests import exports, selectors, services
from erasure_platform.subject_requests.api import serializers as s
from erasure_platform.subject_requests.models import Channel
from erasure_platform.subject_requests.services.intake import status_path

OWNER_TAG = ["erasure requests (owners)"]
STAFF_TAG = ["erasure requests (staff)"]
StaffRead = has_any_role(Role.OFFICER, Role.AUDITOR)
OfficerOnly = has_any_role(Role.OFFICER)
ERRORS = {400: s.ApiErrorSerializer, 404: s.ApiErrorSerializer, 409: s.ApiErrorSerializer, 429: s.ApiErrorSerializer}
STAFF_ERRORS = {**ERRORS, 401: s.ApiErrorSerializer, 403: s.ApiErrorSerializer}


def link_base(request) -> str:
    return request.build_absolute_uri("/").rstrip("/")


def staff_row(request) -> dict:
    clock = selectors.request_clock(request)
    fields = s.RequestStaffSerializer().fields
    data = {
        field.source: getattr(request, field.source)
        for name, field in fields.items()
        if name not in ("days_left", "overdue")
    }
    data.update(days_left=clock["days_left"], overdue=clock["overdue"])
    return data


def staff_detail(request) -> dict:
    data = staff_row(request)
    data["completion_record"] = request.completion_record
    data["timeline"] = [
        {
            "sequence": e["sequence"],
            "at": e["at"],
            "actor": e["actor"],
            "action": e["action"],
            "data": e["data"],
            "hash": e["hash"],
        }
        for e in selectors.request_timeline(erasure_request=request, for_owner=False)
    ]
    return s.RequestStaffDetailSerializer(data).data


# ---- owners ----------------------------------------------------------------------------------------


class OwnerApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]


class RequestCreateApi(OwnerApi):
    throttle_classes = [IntakeThrottle]

    @extend_schema(
        tags=OWNER_TAG,
        operation_id="erasure_request_create",
        request=s.RequestCreateInputSerializer,
        responses={201: s.RequestCreateOutputSerializer, **ERRORS},
        summary="File an erasure request (anonymous; a one-time code is e-mailed to the identifier)",
    )
    def post(self, request):
        serializer = s.RequestCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        erasure_request, token = services.request_create(
            identifier=data["identifier"],
            identifier_kind=data.get("identifier_kind"),
            jurisdiction=data["jurisdiction"],
            channel=Channel.API,
            scope_type=data["scope_type"],
            record_ids=data["record_ids"],
            contact_email=data.get("contact_email") or None,
            message=data["message"],
            link_base=link_base(request),
        )
        body = {
            "reference": erasure_request.reference,
            "status": erasure_request.status,
            "access_token": token,
            "status_url": link_base(request) + status_path(token),
            "received_on": erasure_request.received_on,
            "due_on": erasure_request.due_on,
            "jurisdiction": erasure_request.jurisdiction,
            "duplicate_of_reference": erasure_request.duplicate_of.reference if erasure_request.duplicate_of_id else "",
        }
        return Response(s.RequestCreateOutputSerializer(body).data, status=status.HTTP_201_CREATED)


class RequestOwnerStatusApi(OwnerApi):
    @extend_schema(
        tags=OWNER_TAG,
        operation_id="erasure_request_owner_status",
        responses={200: s.RequestOwnerStatusSerializer, 404: s.ApiErrorSerializer},
        summary="The owner's view of a request, by its access token",
    )
    def get(self, request, token: str):
        erasure_request = selectors.request_get_by_token(token=token)
        view = selectors.request_owner_view(erasure_request=erasure_request)
        response = Response(s.RequestOwnerStatusSerializer(view).data)
        response["Cache-Control"] = "no-store"
        return response


class RequestVerifyApi(OwnerApi):
    throttle_classes = [VerifyThrottle]

    @extend_schema(
        tags=OWNER_TAG,
        operation_id="erasure_request_verify",
        request=s.VerifyInputSerializer,
        responses={200: s.RequestOwnerStatusSerializer, **ERRORS},
        summary="Prove control of the identifier with the e-mailed one-time code",
    )
    def post(self, request, token: str):
        erasure_request = selectors.request_get_by_token(token=token)
        serializer = s.VerifyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erasure_request = services.request_verify_identity(
            erasure_request=erasure_request, code=serializer.validated_data["code"]
        )
        return Response(
            s.RequestOwnerStatusSerializer(selectors.request_owner_view(erasure_request=erasure_request)).data
        )


class RequestResendCodeApi(OwnerApi):
    throttle_classes = [VerifyThrottle]

    @extend_schema(
        tags=OWNER_TAG,
        operation_id="erasure_request_resend_code",
        request=None,
        responses={202: None, **ERRORS},
        summary="Send a fresh one-time code (limited)",
    )
    def post(self, request, token: str):
        erasure_request = selectors.request_get_by_token(token=token)
        services.request_resend_code(erasure_request=erasure_request, link_base=link_base(request), token=token)
        return Response(status=status.HTTP_202_ACCEPTED)


# ---- staff -----------------------------------------------------------------------------------------


class RequestQueueApi(APIView):
    permission_classes = [StaffRead]

    class Pagination(LimitOffsetPagination):
        default_limit = s.QUEUE_PAGE_DEFAULT
        max_limit = s.QUEUE_PAGE_MAX

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="erasure_request_queue",
        parameters=[s.RequestQueueQuerySerializer],
        responses={200: s.RequestQueuePageSerializer, **STAFF_ERRORS},
        summary="Review queue: identity-verified first, then by due date",
    )
    def get(self, request):
        query = s.RequestQueueQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        queryset = selectors.request_queue(
            status=query.validated_data.get("status"), jurisdiction=query.validated_data.get("jurisdiction")
        )
        paginator = self.Pagination()
        page = paginator.paginate_queryset(queryset, request, view=self)
        return paginator.get_paginated_response(
            s.RequestStaffSerializer([staff_row(row) for row in page], many=True).data
        )


class RequestDashboardApi(APIView):
    permission_classes = [StaffRead]

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="erasure_request_dashboard",
        responses={200: s.DashboardSerializer, **STAFF_ERRORS},
        summary="SLA figures",
    )
    def get(self, request):
        return Response(s.DashboardSerializer(selectors.dashboard_figures()).data)


class RequestDetailApi(APIView):
    permission_classes = [StaffRead]

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="erasure_request_detail",
        responses={200: s.RequestStaffDetailSerializer, **STAFF_ERRORS},
        summary="A request with its full audit timeline",
    )
    def get(self, request, request_id):
        return Response(staff_detail(selectors.request_get(request_id=request_id)))


class _OfficerActionApi(APIView):
    permission_classes = [OfficerOnly]
    input_serializer: type = s.GrantInputSerializer

    def perform(self, request, erasure_request, data):  # pragma: no cover - overridden
        raise NotImplementedError

    def post(self, request, request_id):
        erasure_request = selectors.request_get(request_id=request_id)
        serializer = self.input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        erasure_request = self.perform(request, erasure_request, serializer.validated_data)
        return Response(staff_detail(erasure_request))


def _action_schema(operation_id: str, input_serializer, summary: str):
    return extend_schema(
        tags=STAFF_TAG,
        operation_id=operation_id,
        request=input_serializer,
        responses={200: s.RequestStaffDetailSerializer, **STAFF_ERRORS},
        summary=summary,
    )


class RequestGrantApi(_OfficerActionApi):
    input_serializer = s.GrantInputSerializer

    @_action_schema("erasure_request_grant", s.GrantInputSerializer, "Grant (publishes request.granted)")
    def post(self, request, request_id):
        return super().post(request, request_id)

    def perform(self, request, erasure_request, data):
        return services.request_grant(erasure_request=erasure_request, officer=request.user, reason=data["reason"])


class RequestRefuseApi(_OfficerActionApi):
    input_serializer = s.RefuseInputSerializer

    @_action_schema("erasure_request_refuse", s.RefuseInputSerializer, "Refuse on a listed ground with a reason")
    def post(self, request, request_id):
        return super().post(request, request_id)

    def perform(self, request, erasure_request, data):
        return services.request_refuse(
            erasure_request=erasure_request, officer=request.user, ground=data["ground"], reason=data["reason"]
        )


class RequestExtendApi(_OfficerActionApi):
    input_serializer = s.ExtendInputSerializer

    @_action_schema("erasure_request_extend", s.ExtendInputSerializer, "Extend the deadline once, with a reason")
    def post(self, request, request_id):
        return super().post(request, request_id)

    def perform(self, request, erasure_request, data):
        return services.request_extend(
            erasure_request=erasure_request,
            officer=request.user,
            reason=data["reason"],
            extension=data.get("extension"),
        )


class RequestReopenApi(_OfficerActionApi):
    input_serializer = s.ReopenInputSerializer

    @_action_schema("erasure_request_reopen", s.ReopenInputSerializer, "Reopen a refused or completed request")
    def post(self, request, request_id):
        return super().post(request, request_id)

    def perform(self, request, erasure_request, data):
        return services.request_reopen(erasure_request=erasure_request, officer=request.user, reason=data["reason"])


class RequestPurgeContactApi(APIView):
    permission_classes = [OfficerOnly]

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="erasure_request_purge_contact",
        request=None,
        responses={200: s.RequestStaffDetailSerializer, **STAFF_ERRORS},
        summary="Erase the owner's contact details from a closed request",
    )
    def post(self, request, request_id):
        erasure_request = selectors.request_get(request_id=request_id)
        erasure_request = services.request_purge_contact(
            erasure_request=erasure_request, actor=f"user:{request.user.username}"
        )
        return Response(staff_detail(erasure_request))


class RequestRecordsApi(APIView):
    """CCPA §7101 request records for a period, as JSON or CSV, without personal data."""

    permission_classes = [StaffRead]

    @extend_schema(
        tags=STAFF_TAG,
        operation_id="erasure_request_records",
        parameters=[s.RequestRecordsQuerySerializer],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "text/csv"): OpenApiTypes.STR, **STAFF_ERRORS},
        summary="Records of the requests received in a period (CCPA §7101), as JSON or CSV",
    )
    def get(self, request):
        query = s.RequestRecordsQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = exports.records_period(
            start=query.validated_data.get("start"), end=query.validated_data.get("end"), today=timezone.localdate()
        )
        content, media_type, name = exports.records_file(
            start=start, end=end, file_format=query.validated_data["file_format"]
        )
        response = HttpResponse(content, content_type=media_type)
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
