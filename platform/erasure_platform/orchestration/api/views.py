"""Orchestration API: start unlearning now (engineers); record why a model is not unlearned for
a request (officers)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from erasure_platform.accounts.permissions import has_any_role
from erasure_platform.accounts.roles import Role
from erasure_platform.core.api.errors import ApiErrorSerializer as ErrorOut
from erasure_platform.orchestration.selectors import plan_get
from erasure_platform.orchestration.services.batches import unlearning_start_now
from erasure_platform.orchestration.services.plans import outcome_skip
from erasure_platform.registry.selectors import model_get

ENGINEER = has_any_role(Role.ML_ENGINEER)
OFFICER = has_any_role(Role.OFFICER)
ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class ModelUnlearnNowApi(APIView):
    permission_classes = [ENGINEER]

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "BatchStarted", {"batch": serializers.UUIDField(), "job": serializers.UUIDField(allow_null=True)}
            ),
            **ERRORS,
        },
        operation_id="registry_models_unlearn_now",
    )
    def post(self, request, name: str):
        batch = unlearning_start_now(model=model_get(name=name), engineer=request.user)
        return Response({"batch": batch.pk, "job": batch.unlearn_job_id}, status=202)


class OutcomeSkipApi(APIView):
    permission_classes = [OFFICER]

    class OutcomeSkipInput(serializers.Serializer):
        model = serializers.CharField(max_length=64)
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        request=OutcomeSkipInput,
        responses={200: inline_serializer("OutcomeSkipped", {"status": serializers.CharField()}), **ERRORS},
        operation_id="registry_requests_skip_model",
    )
    def post(self, request, request_id: str):
        data = self.OutcomeSkipInput(data=request.data)
        data.is_valid(raise_exception=True)
        outcome = outcome_skip(
            plan=plan_get(request_id=request_id),
            model=model_get(name=data.validated_data["model"]),
            officer=request.user,
            reason=data.validated_data["reason"],
        )
        return Response({"status": outcome.status})
