from django.urls import path

from erasure_platform.orchestration import views

app_name = "orchestration"
urlpatterns = [
    path("models/<str:name>/unlearn-now", views.model_unlearn_now, name="model-unlearn-now"),
]
