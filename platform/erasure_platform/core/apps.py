from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "erasure_platform.core"
    label = "core"
    verbose_name = "Core: audit trail, outbox and jobs"

    def ready(self) -> None:
        # Built-in event consumers and job kinds register themselves on import.
        from erasure_platform.core import handlers  # noqa: F401
