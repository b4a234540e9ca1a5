"""The public transparency log: signed tree heads and proofs, for anyone to fetch and keep.

Anonymous and read-only. Only hashes and signed heads are served, never event content: a
third party checks that the log grows append-only; data owners get their events' content
(and inclusion proofs) in their certificate."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from erasure_platform.core.api.errors import ApiErrorSerializer as ErrorOut
from erasure_platform.evidence.selectors import (
    log_checkpoint,
    log_checkpoint_key,
    log_consistency_proof,
    log_inclusion_proof,
    log_leaf_hashes,
    tree_head_latest_signed,
    tree_heads,
)

MAX_LEAVES_PER_PAGE = 10_000
ERRORS = {400: ErrorOut, 404: ErrorOut, 429: ErrorOut}


class LogThrottle(AnonRateThrottle):
    rate = "120/minute"


class PublicLogApi(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []
    throttle_classes = [LogThrottle]

    def validated(self, serializer_class) -> dict:
        serializer = serializer_class(data=self.request.query_params)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class SignedTreeHeadSerializer(serializers.Serializer):
    class Meta:
        ref_name = "SignedTreeHead"

    document = serializers.DictField(help_text="kind, schema_version, log_id, tree_size, root_hash (hex), timestamp_ms")
    signature = serializers.DictField(
        help_text="Ed25519 over the RFC 8785 canonical document; key at /api/evidence/public-key"
    )


class CheckpointApi(PublicLogApi):
    """The newest tree head as a C2SP tlog-checkpoint: a signed note (origin, tree size, base64 root,
    then an Ed25519 note signature) that Go's sumdb/note and transparency-dev's tools verify with
    the key at /api/log/checkpoint/key."""

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR, 404: ErrorOut, 429: ErrorOut})
    def get(self, request):
        return HttpResponse(log_checkpoint(), content_type="text/plain; charset=utf-8")


class CheckpointKeyApi(PublicLogApi):
    """The note verifier key of the log's checkpoints: "<origin>+<key hash>+<base64(0x01 || key)>"."""

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR, 429: ErrorOut})
    def get(self, request):
        return HttpResponse(log_checkpoint_key() + "\n", content_type="text/plain; charset=utf-8")


class LatestTreeHeadApi(PublicLogApi):
    """The newest signed tree head (keep it: later heads must be consistent with it)."""

    @extend_schema(responses={200: SignedTreeHeadSerializer, **ERRORS})
    def get(self, request):
        return Response(tree_head_latest_signed())


class TreeHeadListApi(PublicLogApi):
    """Signed tree heads, oldest first, after a timestamp (page with the last one's timestamp_ms)."""

    class QuerySerializer(serializers.Serializer):
        after_ms = serializers.IntegerField(required=False, default=-1, min_value=-1)
        limit = serializers.IntegerField(required=False, default=100, min_value=1, max_value=1000)

    @extend_schema(parameters=[QuerySerializer], responses={200: SignedTreeHeadSerializer(many=True), **ERRORS})
    def get(self, request):
        return Response(tree_heads(**self.validated(self.QuerySerializer)))


class InclusionProofApi(PublicLogApi):
    """RFC 9162 inclusion proof of leaf `leaf_index` in the tree of `tree_size` leaves."""

    class QuerySerializer(serializers.Serializer):
        leaf_index = serializers.IntegerField(min_value=0)
        tree_size = serializers.IntegerField(min_value=1)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LogInclusionProof"

        leaf_index = serializers.IntegerField()
        tree_size = serializers.IntegerField()
        leaf_hash = serializers.CharField()
        inclusion_proof = serializers.ListField(child=serializers.CharField())

    @extend_schema(parameters=[QuerySerializer], responses={200: OutputSerializer, **ERRORS})
    def get(self, request):
        return Response(log_inclusion_proof(**self.validated(self.QuerySerializer)))


class ConsistencyProofApi(PublicLogApi):
    """RFC 9162 consistency proof that the tree of `first` leaves is a prefix of the tree of `second`."""

    class QuerySerializer(serializers.Serializer):
        first = serializers.IntegerField(min_value=0)
        second = serializers.IntegerField(min_value=0)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LogConsistencyProof"

        first = serializers.IntegerField()
        second = serializers.IntegerField()
        consistency_proof = serializers.ListField(child=serializers.CharField())

    @extend_schema(parameters=[QuerySerializer], responses={200: OutputSerializer, **ERRORS})
    def get(self, request):
        return Response(log_consistency_proof(**self.validated(self.QuerySerializer)))


class LeafHashesApi(PublicLogApi):
    """Leaf hashes [start, end), at most 10,000 per page: enough to recompute any root yourself."""

    class QuerySerializer(serializers.Serializer):
        start = serializers.IntegerField(min_value=0)
        end = serializers.IntegerField(min_value=1)

        def validate(self, attrs):
            if not attrs["start"] < attrs["end"] <= attrs["start"] + MAX_LEAVES_PER_PAGE:
                raise serializers.ValidationError(f"need start < end <= start + {MAX_LEAVES_PER_PAGE}")
            return attrs

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LogLeafHashes"

        start = serializers.IntegerField()
        end = serializers.IntegerField()
        leaf_hashes = serializers.ListField(child=serializers.CharField())

    @extend_schema(parameters=[QuerySerializer], responses={200: OutputSerializer, **ERRORS})
    def get(self, request):
        return Response(log_leaf_hashes(**self.validated(self.QuerySerializer)))
