from django.urls import path

from erasure_platform.subject_requests.api import views

app_name = "subject_requests_api"
urlpatterns = [
    # owners (anonymous; the token is the key)
    path("requests", views.RequestCreateApi.as_view(), name="create"),
    path("owner/requests/<str:token>", views.RequestOwnerStatusApi.as_view(), name="owner_status"),
    path("owner/requests/<str:token>/verify", views.RequestVerifyApi.as_view(), name="owner_verify"),
    path("owner/requests/<str:token>/resend-code", views.RequestResendCodeApi.as_view(), name="owner_resend"),
    # staff
    path("requests/queue", views.RequestQueueApi.as_view(), name="queue"),
    path("requests/dashboard", views.RequestDashboardApi.as_view(), name="dashboard"),
    path("requests/records", views.RequestRecordsApi.as_view(), name="records"),
    path("requests/<uuid:request_id>", views.RequestDetailApi.as_view(), name="detail"),
    path("requests/<uuid:request_id>/grant", views.RequestGrantApi.as_view(), name="grant"),
    path("requests/<uuid:request_id>/refuse", views.RequestRefuseApi.as_view(), name="refuse"),
    path("requests/<uuid:request_id>/extend", views.RequestExtendApi.as_view(), name="extend"),
    path("requests/<uuid:request_id>/reopen", views.RequestReopenApi.as_view(), name="reopen"),
    path("requests/<uuid:request_id>/purge-contact", views.RequestPurgeContactApi.as_view(), name="purge_contact"),
]
