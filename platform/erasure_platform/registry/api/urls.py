from django.urls import path

from erasure_platform.registry.api import views

app_name = "registry_api"
urlpatterns = [
    path("ml/datasets", views.DatasetListApi.as_view(), name="datasets"),
    path("ml/datasets/register", views.DatasetRegisterApi.as_view(), name="dataset-register"),
    path(
        "ml/datasets/<str:name>/versions/register",
        views.DatasetVersionRegisterApi.as_view(),
        name="dataset-version-register",
    ),
    path("ml/datasets/<str:name>/imports", views.DatasetImportApi.as_view(), name="dataset-imports"),
    path(
        "ml/datasets/<str:name>/imports/preview", views.DatasetImportPreviewApi.as_view(), name="dataset-import-preview"
    ),
    path("ml/identity-maps", views.IdentityMapListApi.as_view(), name="identity-maps"),
    path("ml/identity-maps/<str:name>/imports", views.IdentityMapImportApi.as_view(), name="identity-map-imports"),
    path("ml/models", views.ModelListApi.as_view(), name="models"),
    path("ml/models/register", views.ModelRegisterApi.as_view(), name="model-register"),
    path("ml/models/<str:name>/versions", views.ModelVersionListApi.as_view(), name="model-versions"),
    path("ml/models/<str:name>/versions/import", views.ModelVersionImportApi.as_view(), name="model-version-import"),
    path("ml/models/<str:name>/train", views.ModelTrainApi.as_view(), name="model-train"),
    path("ml/models/<str:name>/rollback", views.ModelRollbackApi.as_view(), name="model-rollback"),
    path("ml/versions/<uuid:pk>", views.ModelVersionDetailApi.as_view(), name="version"),
    path("ml/versions/<uuid:pk>/approve", views.VersionApproveApi.as_view(), name="version-approve"),
    path("ml/versions/<uuid:pk>/reject", views.VersionRejectApi.as_view(), name="version-reject"),
    path("ml/lineage/<str:subject_key>", views.LineageApi.as_view(), name="lineage"),
    path("ml/jobs/<uuid:pk>", views.JobStatusApi.as_view(), name="job"),
]
