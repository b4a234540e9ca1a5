from django.urls import path

app_name = "registry_api"
urlpatterns: list = []
