from django.urls import path

app_name = "subject_requests"
urlpatterns: list = []
