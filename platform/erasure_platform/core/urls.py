from django.urls import path

from erasure_platform.core.api.views import HealthApi

app_name = "core"
urlpatterns = [
    path("health", HealthApi.as_view(), name="health"),
]
