from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "erasure_platform.registry"
    label = "registry"
    verbose_name = "Datasets, models, lineage and releases"

    def ready(self) -> None:
        from erasure_platform.registry import events, jobs  # noqa: F401  (register on import)
