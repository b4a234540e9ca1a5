from django.apps import AppConfig


class OrchestrationConfig(AppConfig):
    name = "erasure_platform.orchestration"
    label = "orchestration"
    verbose_name = "Erasure plans, unlearning batches and their jobs"

    def ready(self) -> None:
        from erasure_platform.orchestration import events, jobs  # noqa: F401  (register on import)
