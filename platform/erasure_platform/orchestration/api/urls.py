from django.urls import path

from erasure_platform.orchestration.api import views

app_name = "orchestration_api"
urlpatterns = [
    path("ml/models/<str:name>/unlearn-now", views.ModelUnlearnNowApi.as_view(), name="model-unlearn-now"),
    path("ml/requests/<str:request_id>/skip-model", views.OutcomeSkipApi.as_view(), name="skip-model"),
]
