from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from erasure_platform.accounts.permissions import has_any_role
from erasure_platform.accounts.roles import Role
from erasure_platform.core.api.errors import ApiErrorSerializer as ErrorOut
from erasure_platform.core.api.strict_fields import StrictCharField
from erasure_platform.core.api.throttling import VerifyThrottle
from erasure_platform.core.engine import json_nesting_exceeds
from erasure_platform.core.errors import NotFound
from erasure_platform.evidence.keys import evidence_key_id, evidence_public_key_pem
from erasure_platform.evidence.models import Certificate
from erasure_platform.evidence.selectors import (
    audit_chain_verify_with_anchors,
    certificate_verification,
    evidence_file,
    report_get,
)
from erasure_platform.evidence.services.reports import report_request
from erasure_platform.subject_requests.selectors import request_get_by_token

STAFF_ERRORS = {401: ErrorOut, 403: ErrorOut}


class PublicKeyApi(APIView):
    """The Ed25519 public key that verifies certificates and audit anchors offline."""

    permission_classes = [AllowAny]
    authentication_classes = []

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "EvidencePublicKey"

        algorithm = serializers.CharField()
        key_id = serializers.CharField()
        public_key_pem = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(
            {"algorithm": "Ed25519", "key_id": evidence_key_id(), "public_key_pem": evidence_public_key_pem()}
        )


class OwnerCertificateApi(APIView):
    """The owner's signed certificate, reached only through their request's access token. The text
    is the signed file, byte for byte: send it as is to /api/certificates/verify."""

    permission_classes = [AllowAny]
    authentication_classes = []

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "OwnerCertificate"

        reference = serializers.CharField()
        certificate = serializers.CharField()

    @extend_schema(
        operation_id="erasure_request_owner_certificate",
        tags=["erasure requests (owners)"],
        responses={200: OutputSerializer, 404: ErrorOut},
    )
    def get(self, request, token: str):
        erasure_request = request_get_by_token(token=token)
        certificate = Certificate.objects.filter(request=erasure_request).first()
        if certificate is None:
            raise NotFound("no certificate yet: it is issued when the request is completed", code="no_certificate")
        text = evidence_file(key=certificate.json_key).decode("utf-8")
        response = Response({"reference": erasure_request.reference, "certificate": text})
        response["Cache-Control"] = "no-store"
        return response


class CertificateVerifyApi(APIView):
    """Anyone may check a certificate: send the signed file's exact text."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [VerifyThrottle]

    class InputSerializer(serializers.Serializer):
        certificate = StrictCharField(max_length=1_000_000, trim_whitespace=False)

        class Meta:
            ref_name = "CertificateVerifyInput"

        def validate_certificate(self, value: str) -> str:
            # JSON inside the field obeys the body's own depth limit (core/api/parsers.py).
            if json_nesting_exceeds(value, settings.ERASURE_JSON_MAX_DEPTH):
                raise serializers.ValidationError(
                    f"the certificate's JSON nests deeper than {settings.ERASURE_JSON_MAX_DEPTH} levels"
                )
            return value

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "CertificateVerifyResult"

        valid = serializers.BooleanField()
        key_id = serializers.CharField()
        message = serializers.CharField()
        document = serializers.DictField(required=False)

    @extend_schema(request=InputSerializer, responses={200: OutputSerializer, 400: ErrorOut, 429: ErrorOut})
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(certificate_verification(data=serializer.validated_data["certificate"].encode("utf-8")))


class AuditChainVerifyApi(APIView):
    """Check the audit log: events against MACs and leaves, tree heads and anchors (auditors, officers)."""

    permission_classes = [has_any_role(Role.AUDITOR, Role.OFFICER)]

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AuditChainVerification"

        ok = serializers.BooleanField()
        chain = serializers.DictField()
        anchors_checked = serializers.IntegerField()
        last_anchor_sequence = serializers.IntegerField(allow_null=True)
        problems = serializers.ListField(child=serializers.CharField())
        findings = serializers.ListField(
            child=serializers.DictField(), help_text="each with a `kind` naming the tampering"
        )
        suppressed = serializers.DictField(child=serializers.IntegerField())

    @extend_schema(request=None, responses={200: OutputSerializer, **STAFF_ERRORS})
    def post(self, request):
        return Response(audit_chain_verify_with_anchors().to_json())


class ReportOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField()
    period_start = serializers.DateField(allow_null=True)
    period_end = serializers.DateField(allow_null=True)
    request_reference = serializers.CharField(source="request.reference", allow_null=True, default=None)
    status = serializers.CharField(source="job.status", default=None)
    progress = serializers.FloatField(source="job.progress", default=None)
    json_sha256 = serializers.CharField()
    json_url = serializers.SerializerMethodField()
    pdf_url = serializers.SerializerMethodField()

    class Meta:
        ref_name = "RegulatorReport"

    def _url(self, report, fmt):
        if not report.pdf_key:
            return None
        return reverse("evidence:report-download", kwargs={"report_id": report.id, "fmt": fmt})

    def get_json_url(self, report) -> str | None:
        return self._url(report, "json")

    def get_pdf_url(self, report) -> str | None:
        return self._url(report, "pdf")


class ReportCreateApi(APIView):
    """Ask for a regulator report (a period, inclusive, or one request); a background job builds it."""

    permission_classes = [has_any_role(Role.AUDITOR, Role.OFFICER)]

    class InputSerializer(serializers.Serializer):
        period_start = serializers.DateField(required=False)
        period_end = serializers.DateField(required=False)
        request_reference = serializers.CharField(required=False, max_length=20)

        class Meta:
            ref_name = "RegulatorReportRequest"

    @extend_schema(
        request=InputSerializer, responses={202: ReportOutputSerializer, 400: ErrorOut, 404: ErrorOut, **STAFF_ERRORS}
    )
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = report_request(actor=f"user:{request.user.username}", **serializer.validated_data)
        return Response(ReportOutputSerializer(report).data, status=202)


class ReportDetailApi(APIView):
    permission_classes = [has_any_role(Role.AUDITOR, Role.OFFICER)]

    @extend_schema(responses={200: ReportOutputSerializer, 404: ErrorOut, **STAFF_ERRORS})
    def get(self, request, report_id):
        return Response(ReportOutputSerializer(report_get(report_id=report_id)).data)
