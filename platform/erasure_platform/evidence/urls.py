from django.urls import path

from erasure_platform.evidence import views

app_name = "evidence"
urlpatterns = [
    path("audit/", views.audit_trail, name="audit-trail"),
    path("certificates/check/", views.certificate_check, name="certificate-check"),
]
