from django.contrib.auth import views as auth_views
from django.urls import path

from erasure_platform.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("start/", views.start, name="start"),
    path("login/", auth_views.LoginView.as_view(template_name="portal/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
