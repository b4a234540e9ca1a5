from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "erasure_platform.accounts"
    label = "accounts"
    verbose_name = "Staff accounts and roles"
