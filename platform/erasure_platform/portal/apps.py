from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "erasure_platform.portal"
    label = "portal"
    verbose_name = "Portal (server-rendered UI)"
