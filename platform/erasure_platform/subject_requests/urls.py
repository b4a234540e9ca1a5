from django.urls import path

from erasure_platform.subject_requests import views

app_name = "subject_requests"
urlpatterns = [
    path("new", views.request_new, name="new"),
    path("new/", views.request_new),
    path("s/<str:token>/", views.request_status, name="status"),
    path("s/<str:token>/verify", views.request_verify, name="verify"),
    path("s/<str:token>/resend", views.request_resend, name="resend"),
    path("queue/", views.queue, name="queue"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("records/", views.records, name="records"),
    path("review/<uuid:request_id>/", views.detail, name="detail"),
    path("review/<uuid:request_id>/grant", views.grant, name="grant"),
    path("review/<uuid:request_id>/refuse", views.refuse, name="refuse"),
    path("review/<uuid:request_id>/extend", views.extend, name="extend"),
    path("review/<uuid:request_id>/reopen", views.reopen, name="reopen"),
    path("review/<uuid:request_id>/purge-contact", views.purge_contact, name="purge_contact"),
]
