from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from erasure_engine.errors import EngineError
from erasure_engine.evidence import verify_document
from erasure_platform.accounts.permissions import has_any_role
from erasure_platform.accounts.roles import Role
from erasure_platform.evidence.keys import evidence_key_id, evidence_public_key, evidence_public_key_pem
from erasure_platform.evidence.selectors import audit_chain_verify_with_anchors


class PublicKeyApi(APIView):
    """The Ed25519 public key that verifies certificates and audit anchors offline."""

    permission_classes = [AllowAny]
    authentication_classes = []

    class OutputSerializer(serializers.Serializer):
        algorithm = serializers.CharField()
        key_id = serializers.CharField()
        public_key_pem = serializers.CharField()

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response({"algorithm": "Ed25519", "key_id": evidence_key_id(), "public_key_pem": evidence_public_key_pem()})


class VerifyThrottle(AnonRateThrottle):
    rate = "60/minute"


class CertificateVerifyApi(APIView):
    """Anyone may check a certificate: send the signed file's exact text."""

    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [VerifyThrottle]

    class InputSerializer(serializers.Serializer):
        certificate = serializers.CharField(max_length=1_000_000, trim_whitespace=False)

    class OutputSerializer(serializers.Serializer):
        valid = serializers.BooleanField()
        key_id = serializers.CharField()
        message = serializers.CharField()
        document = serializers.DictField(required=False)

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            signed = verify_document(serializer.validated_data["certificate"].encode("utf-8"), evidence_public_key())
        except EngineError as error:
            return Response({"valid": False, "key_id": evidence_key_id(), "message": error.message})
        return Response({
            "valid": True,
            "key_id": signed.key_id,
            "message": f"valid: signed by key {signed.key_id}",
            "document": signed.document,
        })


class AuditChainVerifyApi(APIView):
    """Recompute the audit chain and compare it with the anchored heads (auditors, officers)."""

    permission_classes = [has_any_role(Role.AUDITOR, Role.OFFICER)]

    class OutputSerializer(serializers.Serializer):
        ok = serializers.BooleanField()
        chain = serializers.DictField()
        anchors_checked = serializers.IntegerField()
        last_anchor_sequence = serializers.IntegerField(allow_null=True)
        problems = serializers.ListField(child=serializers.CharField())

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request):
        return Response(audit_chain_verify_with_anchors().to_json())
