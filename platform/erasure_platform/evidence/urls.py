from django.urls import path

from erasure_platform.evidence import views

app_name = "evidence"
urlpatterns = [
    path("audit/", views.audit_trail, name="audit-trail"),
    path("certificates/check/", views.certificate_check, name="certificate-check"),
    path("certificates/public-key.pem", views.public_key_download, name="public-key"),
    path("certificates/<str:token>/certificate.<str:fmt>", views.owner_certificate, name="owner-certificate"),
    path("reports/", views.reports, name="reports"),
    path("reports/<uuid:report_id>/", views.report, name="report"),
    path("reports/<uuid:report_id>/download.<str:fmt>", views.report_download, name="report-download"),
]
