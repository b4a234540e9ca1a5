from django.urls import path

from erasure_platform.registry import views

app_name = "registry"
urlpatterns = [
    path("", views.model_list, name="models"),
    path("models/<str:name>/", views.model_detail, name="model"),
    path("models/<str:name>/method", views.model_method, name="model-method"),
    path("models/<str:name>/import", views.model_import, name="model-import"),
    path("models/<str:name>/rollback", views.model_rollback, name="model-rollback"),
    path("versions/<uuid:pk>/", views.version_detail, name="version"),
    path("versions/<uuid:pk>/plots/<str:name>.png", views.version_plot, name="version-plot"),
    path("versions/<uuid:pk>/approve", views.version_approve, name="version-approve"),
    path("versions/<uuid:pk>/reject", views.version_reject, name="version-reject"),
    path("jobs/<uuid:pk>/", views.job_detail, name="job"),
    path("datasets/", views.dataset_list, name="datasets"),
    path("datasets/<str:name>/import", views.dataset_import, name="dataset-import"),
    path("lineage/", views.lineage, name="lineage"),
]
