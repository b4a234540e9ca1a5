from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "erasure_platform.core"
    label = "core"
    verbose_name = "Core: audit trail, outbox and jobs"

    def ready(self) -> None:
        from erasure_platform.core import events, jobs  # noqa: F401  (register on import)
