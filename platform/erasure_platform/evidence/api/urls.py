from django.urls import path

from erasure_platform.evidence.api import log_views, views

app_name = "evidence_api"
urlpatterns = [
    path("evidence/public-key", views.PublicKeyApi.as_view(), name="public-key"),
    path("owner/requests/<str:token>/certificate", views.OwnerCertificateApi.as_view(), name="owner-certificate"),
    path("certificates/verify", views.CertificateVerifyApi.as_view(), name="certificate-verify"),
    path("audit/verify", views.AuditChainVerifyApi.as_view(), name="audit-verify"),
    path("log/sth", log_views.LatestTreeHeadApi.as_view(), name="log-sth"),
    path("log/checkpoint", log_views.CheckpointApi.as_view(), name="log-checkpoint"),
    path("log/checkpoint/key", log_views.CheckpointKeyApi.as_view(), name="log-checkpoint-key"),
    path("log/sths", log_views.TreeHeadListApi.as_view(), name="log-sths"),
    path("log/proof/inclusion", log_views.InclusionProofApi.as_view(), name="log-inclusion-proof"),
    path("log/proof/consistency", log_views.ConsistencyProofApi.as_view(), name="log-consistency-proof"),
    path("log/leaves", log_views.LeafHashesApi.as_view(), name="log-leaves"),
    path("reports", views.ReportCreateApi.as_view(), name="report-create"),
    path("reports/<uuid:report_id>", views.ReportDetailApi.as_view(), name="report-detail"),
]
