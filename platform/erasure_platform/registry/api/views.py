"""Registry API: one thin APIView per operation, each with its own serializers and roles.

ML engineers register datasets/models and start jobs; release approvers approve, reject and
roll back; auditors (and everyone staff) read."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from erasure_platform.accounts.permissions import has_any_role
from erasure_platform.accounts.roles import Role
from erasure_platform.core.api.errors import ApiErrorSerializer as ErrorOut
from erasure_platform.core.api.strict_fields import StrictCharField
from erasure_platform.registry import selectors
from erasure_platform.registry.services import dataset_imports as dataset_import_services
from erasure_platform.registry.services import datasets as dataset_services
from erasure_platform.registry.services import identity_maps as identity_map_services
from erasure_platform.registry.services import imports as import_services
from erasure_platform.registry.services import models as model_services
from erasure_platform.registry.services import release as release_services

READERS = has_any_role(Role.ML_ENGINEER, Role.RELEASE_APPROVER, Role.AUDITOR, Role.OFFICER)
ENGINEER = has_any_role(Role.ML_ENGINEER)
APPROVER = has_any_role(Role.RELEASE_APPROVER)
OFFICER = has_any_role(Role.OFFICER)


class DatasetVersionOut(serializers.Serializer):
    id = serializers.IntegerField()
    dataset = serializers.CharField(source="dataset.name")
    version_id = serializers.CharField()
    manifest_sha256 = serializers.CharField()
    object_url = serializers.CharField()
    parent = serializers.CharField(source="parent.version_id", allow_null=True, default=None)
    record_count = serializers.IntegerField()
    purged = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class DatasetOut(serializers.Serializer):
    name = serializers.CharField()
    purpose = serializers.CharField()
    description = serializers.CharField()
    versions = DatasetVersionOut(many=True, source="versions.all")


class ModelVersionOut(serializers.Serializer):
    id = serializers.UUIDField()
    model = serializers.CharField(source="model.name")
    version_id = serializers.CharField()
    layout = serializers.CharField()
    status = serializers.CharField()
    method = serializers.CharField()
    artifact_url = serializers.CharField()
    digests = serializers.JSONField()
    trained_on = serializers.CharField(allow_null=True, source="trained_on.__str__", default=None)
    parent = serializers.CharField(source="parent.version_id", allow_null=True, default=None)
    created_by = serializers.CharField()
    verdict_passed = serializers.BooleanField(allow_null=True)
    verdict_outcome = serializers.SerializerMethodField(
        help_text="passed, failed or inconclusive; null before verification"
    )
    cost = serializers.JSONField()
    provenance = serializers.JSONField()
    holds_erased_data = serializers.BooleanField()
    created_at = serializers.DateTimeField()

    def get_verdict_outcome(self, version) -> str | None:
        return selectors.verdict_outcome(version.verdict)


class ModelOut(serializers.Serializer):
    name = serializers.CharField()
    kind = serializers.CharField()
    description = serializers.CharField()
    approximate_method = serializers.CharField()
    approximate_params = serializers.JSONField()
    verification_policy = serializers.JSONField()
    production = serializers.SerializerMethodField()

    def get_production(self, model) -> str | None:
        version = selectors.production_version(model=model)
        return version.version_id if version else None


ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


class DatasetListApi(APIView):
    permission_classes = [READERS]

    @extend_schema(responses={200: DatasetOut(many=True), 403: ErrorOut}, operation_id="registry_datasets_list")
    def get(self, request):
        return Response(DatasetOut(selectors.dataset_list(), many=True).data)


class DatasetRegisterApi(APIView):
    permission_classes = [ENGINEER]

    class DatasetRegisterInput(serializers.Serializer):
        name = serializers.CharField(max_length=64)
        purpose = serializers.ChoiceField(choices=["training", "holdout"], default="training")
        description = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)

    @extend_schema(
        request=DatasetRegisterInput, responses={201: DatasetOut, **ERRORS}, operation_id="registry_datasets_register"
    )
    def post(self, request):
        data = self.DatasetRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        dataset = dataset_services.dataset_register(actor=request.user.username, **data.validated_data)
        return Response(DatasetOut(dataset).data, status=201)


class DatasetVersionRegisterApi(APIView):
    permission_classes = [ENGINEER]

    class DatasetVersionRegisterInput(serializers.Serializer):
        version_id = serializers.RegexField(r"^v\d{4,}$", max_length=32)

    @extend_schema(
        request=DatasetVersionRegisterInput,
        responses={201: DatasetVersionOut, **ERRORS},
        operation_id="registry_dataset_versions_register",
    )
    def post(self, request, name: str):
        data = self.DatasetVersionRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = dataset_services.dataset_version_register(
            dataset=selectors.dataset_get(name=name),
            version_id=data.validated_data["version_id"],
            actor=request.user.username,
        )
        return Response(DatasetVersionOut(version).data, status=201)


class ModelListApi(APIView):
    permission_classes = [READERS]

    @extend_schema(responses={200: ModelOut(many=True), 403: ErrorOut}, operation_id="registry_models_list")
    def get(self, request):
        return Response(ModelOut(selectors.model_list(), many=True).data)


class ModelRegisterApi(APIView):
    permission_classes = [ENGINEER]

    class ModelRegisterInput(serializers.Serializer):
        name = serializers.CharField(max_length=64)
        kind = serializers.ChoiceField(choices=["lm", "lm-lora", "classifier"])
        description = serializers.CharField(max_length=500, required=False, default="", allow_blank=True)
        approximate_method = serializers.CharField(max_length=50, required=False, default="gradient_difference")
        approximate_params = serializers.DictField(required=False, default=dict)
        verification_policy = serializers.DictField(required=False, default=dict)
        holdout_dataset_version = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1)

    @extend_schema(
        request=ModelRegisterInput, responses={201: ModelOut, **ERRORS}, operation_id="registry_models_register"
    )
    def post(self, request):
        data = self.ModelRegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        holdout_pk = values.pop("holdout_dataset_version")
        holdout = selectors.dataset_version_get(pk=holdout_pk) if holdout_pk else None
        model = model_services.model_register(actor=request.user.username, holdout=holdout, **values)
        return Response(ModelOut(model).data, status=201)


class ImportSourceIn(serializers.Serializer):
    location = StrictCharField(
        max_length=1000, required=False, help_text="a file, a folder or an s3:// prefix under the import roots"
    )
    postgres = StrictCharField(max_length=64, required=False, help_text="a named PostgreSQL source")
    table = StrictCharField(max_length=200, required=False, help_text="PostgreSQL: schema.table to read")
    query = StrictCharField(max_length=10_000, required=False, help_text="PostgreSQL: a SELECT to read instead")


class DatasetImportInput(serializers.Serializer):
    source = ImportSourceIn()
    spec = serializers.JSONField(help_text="the dataset spec: an object, or JSON/YAML text")


class RefusedRowOut(serializers.Serializer):
    file = serializers.CharField()
    row = serializers.IntegerField(allow_null=True)
    column = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class DatasetImportApi(APIView):
    """Bring your own data: import a team's records into a registered dataset, as a job (progress
    in rows; the refused rows on the job page; the new version registered and indexed)."""

    permission_classes = [ENGINEER]

    class DatasetImportStartInput(DatasetImportInput):
        shards = serializers.IntegerField(min_value=1, max_value=256, required=False, allow_null=True, default=None)
        slices = serializers.IntegerField(min_value=1, max_value=256, required=False, allow_null=True, default=None)
        seed = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
        skip_invalid = serializers.BooleanField(
            required=False, default=False, help_text="leave refused rows out (listed) instead of refusing the import"
        )

    @extend_schema(
        request=DatasetImportStartInput,
        responses={202: inline_serializer("DatasetImportStarted", {"job": serializers.UUIDField()}), **ERRORS},
        operation_id="registry_dataset_imports_start",
    )
    def post(self, request, name: str):
        data = self.DatasetImportStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = dataset_import_services.dataset_import_start(
            dataset=selectors.dataset_get(name=name),
            source=values["source"],
            spec=values["spec"],
            actor=request.user.username,
            shards=values["shards"],
            slices=values["slices"],
            seed=values["seed"],
            skip_invalid=values["skip_invalid"],
        )
        return Response({"job": job.pk}, status=202)


class DatasetImportPreviewApi(APIView):
    """What an import would make of a source's first rows, writing nothing."""

    permission_classes = [ENGINEER]

    class DatasetImportPreviewOutput(serializers.Serializer):
        records = serializers.JSONField(help_text="the first 20 records: record id, subject key prefix, content")
        refused = RefusedRowOut(many=True)
        refused_count = serializers.IntegerField()
        rows_scanned = serializers.IntegerField()

    @extend_schema(
        request=DatasetImportInput,
        responses={200: DatasetImportPreviewOutput, **ERRORS},
        operation_id="registry_dataset_imports_preview",
    )
    def post(self, request, name: str):
        data = DatasetImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        selectors.dataset_get(name=name)
        preview = selectors.dataset_import_preview(
            source=data.validated_data["source"], spec=data.validated_data["spec"]
        )
        return Response(self.DatasetImportPreviewOutput(preview).data)


class IdentityMapOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField()
    link_count = serializers.IntegerField(help_text="pairs of one person's identifiers (kept as keyed hashes)")
    source = serializers.JSONField()
    updated_at = serializers.DateTimeField()


class IdentityMapListApi(APIView):
    permission_classes = [READERS]

    @extend_schema(
        responses={200: IdentityMapOut(many=True), 403: ErrorOut}, operation_id="registry_identity_maps_list"
    )
    def get(self, request):
        return Response(IdentityMapOut(selectors.identity_map_list(), many=True).data)


class IdentityMapImportApi(APIView):
    """Import (or re-import: the source replaces the map's links) which identifiers are one
    person's, e.g. e-mail and customer id, so a request by e-mail finds records keyed by customer id."""

    permission_classes = [ENGINEER]

    class IdentityMapImportInput(serializers.Serializer):
        source = ImportSourceIn()
        spec = serializers.JSONField(help_text='{"identities": [{"column": "email", "kind": "email"}, ...]}')
        skip_invalid = serializers.BooleanField(required=False, default=False)

    @extend_schema(
        request=IdentityMapImportInput,
        responses={202: inline_serializer("IdentityMapImportStarted", {"job": serializers.UUIDField()}), **ERRORS},
        operation_id="registry_identity_maps_import",
    )
    def post(self, request, name: str):
        data = self.IdentityMapImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = identity_map_services.identity_map_import_start(
            name=name,
            source=values["source"],
            spec=values["spec"],
            actor=request.user.username,
            skip_invalid=values["skip_invalid"],
        )
        return Response({"job": job.pk}, status=202)


class ModelVersionImportApi(APIView):
    """Bring your own model: import a save_pretrained directory (s3:// prefix, or a local one under
    ERASURE_MODEL_IMPORT_ROOTS) trained on a registered dataset version; validated in a job."""

    permission_classes = [ENGINEER]

    class ModelVersionImportInput(serializers.Serializer):
        source = serializers.CharField(max_length=1000)
        trained_on = serializers.IntegerField(min_value=1, help_text="the dataset version it was trained on")
        version_id = serializers.CharField(max_length=64, required=False, allow_null=True, default=None)
        make_production = serializers.BooleanField(
            required=False, default=False, help_text="the model's first version: make it the production version"
        )

    @extend_schema(
        request=ModelVersionImportInput,
        responses={202: inline_serializer("ImportStarted", {"job": serializers.UUIDField()}), **ERRORS},
        operation_id="registry_model_versions_import",
    )
    def post(self, request, name: str):
        data = self.ModelVersionImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        job = import_services.model_version_import_start(
            model=selectors.model_get(name=name),
            source=values["source"],
            trained_on=selectors.dataset_version_get(pk=values["trained_on"]),
            actor=request.user.username,
            version_id=values["version_id"],
            make_production=values["make_production"],
        )
        return Response({"job": job.pk}, status=202)


class ModelVersionListApi(APIView):
    permission_classes = [READERS]

    @extend_schema(
        responses={200: ModelVersionOut(many=True), 403: ErrorOut, 404: ErrorOut},
        operation_id="registry_model_versions_list",
    )
    def get(self, request, name: str):
        return Response(ModelVersionOut(selectors.model_versions(model=selectors.model_get(name=name)), many=True).data)


class ModelVersionDetailApi(APIView):
    permission_classes = [READERS]

    class ModelVersionDetailOutput(ModelVersionOut):
        verdict = serializers.JSONField(allow_null=True)
        plots = serializers.JSONField()

    @extend_schema(
        responses={200: ModelVersionDetailOutput, 403: ErrorOut, 404: ErrorOut},
        operation_id="registry_model_versions_detail",
    )
    def get(self, request, pk):
        return Response(self.ModelVersionDetailOutput(selectors.model_version_get(pk=pk)).data)


class ModelTrainApi(APIView):
    permission_classes = [ENGINEER]

    class ModelTrainInput(serializers.Serializer):
        dataset_version = serializers.IntegerField(min_value=1)
        config = serializers.DictField(required=False, default=dict)
        base = serializers.DictField(
            required=False,
            allow_null=True,
            default=None,
            help_text='lm-lora: the team\'s pretrained base, {"location": <save_pretrained directory with its '
            "tokenizer, or s3:// prefix, under the model import roots>}",
        )

    @extend_schema(
        request=ModelTrainInput,
        responses={202: inline_serializer("JobStarted", {"job": serializers.UUIDField()}), **ERRORS},
        operation_id="registry_models_train",
    )
    def post(self, request, name: str):
        data = self.ModelTrainInput(data=request.data)
        data.is_valid(raise_exception=True)
        job = model_services.model_train_start(
            model=selectors.model_get(name=name),
            dataset_version=selectors.dataset_version_get(pk=data.validated_data["dataset_version"]),
            actor=request.user.username,
            config=data.validated_data["config"],
            base=data.validated_data["base"],
        )
        return Response({"job": job.pk}, status=202)


class LineageApi(APIView):
    permission_classes = [READERS]

    class LineageOutput(serializers.Serializer):
        subject_key = serializers.CharField()
        dataset_versions = serializers.ListField(child=serializers.DictField())
        model_versions = serializers.ListField(child=serializers.DictField())

    @extend_schema(responses={200: LineageOutput, 400: ErrorOut, 403: ErrorOut}, operation_id="registry_lineage")
    def get(self, request, subject_key: str):
        lineage = selectors.lineage_for_subject(subject_key=subject_key)
        return Response(
            {
                "subject_key": subject_key,
                "dataset_versions": [
                    {
                        "dataset": str(e["dataset_version"].dataset),
                        "version_id": e["dataset_version"].version_id,
                        "record_ids": e["record_ids"],
                        "erased_record_ids": e["erased_record_ids"],
                        "holds_data": e["holds_data"],
                    }
                    for e in lineage.dataset_versions
                ],
                "model_versions": [
                    {
                        "model": e["model_version"].model.name,
                        "version_id": e["model_version"].version_id,
                        "id": str(e["model_version"].pk),
                        "status": e["model_version"].status,
                        "trained_on": str(e["dataset_version"]),
                        "production": e["production"],
                    }
                    for e in lineage.model_versions
                ],
            }
        )


class JobStatusApi(APIView):
    permission_classes = [READERS]

    class JobStatusOutput(serializers.Serializer):
        id = serializers.UUIDField()
        kind = serializers.CharField()
        status = serializers.CharField()
        progress = serializers.FloatField()
        progress_message = serializers.CharField()
        attempts = serializers.IntegerField()
        error = serializers.CharField()
        result = serializers.JSONField(allow_null=True)
        created_by = serializers.CharField()

    @extend_schema(responses={200: JobStatusOutput, 403: ErrorOut, 404: ErrorOut}, operation_id="registry_jobs_detail")
    def get(self, request, pk):
        return Response(self.JobStatusOutput(selectors.ml_job_get(job_id=pk)).data)


class DecisionInput(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, default="", allow_blank=True)
    override_reason = serializers.CharField(
        max_length=2000,
        required=False,
        default="",
        allow_blank=True,
        help_text="required (20+ characters) when the verdict failed (override) or is inconclusive (justification)",
    )


class VersionApproveApi(APIView):
    permission_classes = [APPROVER]

    @extend_schema(
        request=DecisionInput, responses={200: ModelVersionOut, **ERRORS}, operation_id="registry_versions_approve"
    )
    def post(self, request, pk):
        data = DecisionInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = release_services.release_approve(
            version=selectors.model_version_get(pk=pk), approver=request.user, **data.validated_data
        )
        return Response(ModelVersionOut(version).data)


class VersionRejectApi(APIView):
    permission_classes = [APPROVER]

    class VersionRejectInput(serializers.Serializer):
        reason = serializers.CharField(max_length=2000)

    @extend_schema(
        request=VersionRejectInput, responses={200: ModelVersionOut, **ERRORS}, operation_id="registry_versions_reject"
    )
    def post(self, request, pk):
        data = self.VersionRejectInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = release_services.release_reject(
            version=selectors.model_version_get(pk=pk), approver=request.user, reason=data.validated_data["reason"]
        )
        return Response(ModelVersionOut(version).data)


class ModelRollbackApi(APIView):
    permission_classes = [APPROVER]

    class ModelRollbackInput(serializers.Serializer):
        reason = serializers.CharField(max_length=1000)

    @extend_schema(
        request=ModelRollbackInput, responses={200: ModelVersionOut, **ERRORS}, operation_id="registry_models_rollback"
    )
    def post(self, request, name: str):
        data = self.ModelRollbackInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = release_services.alias_rollback(
            model=selectors.model_get(name=name), approver=request.user, reason=data.validated_data["reason"]
        )
        return Response(ModelVersionOut(version).data)
