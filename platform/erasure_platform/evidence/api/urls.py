from django.urls import path

from erasure_platform.evidence.api import views

app_name = "evidence_api"
urlpatterns = [
    path("evidence/public-key", views.PublicKeyApi.as_view(), name="public-key"),
    path("owner/requests/<str:token>/certificate", views.OwnerCertificateApi.as_view(), name="owner-certificate"),
    path("certificates/verify", views.CertificateVerifyApi.as_view(), name="certificate-verify"),
    path("audit/verify", views.AuditChainVerifyApi.as_view(), name="audit-verify"),
    path("reports", views.ReportCreateApi.as_view(), name="report-create"),
    path("reports/<uuid:report_id>", views.ReportDetailApi.as_view(), name="report-detail"),
]
