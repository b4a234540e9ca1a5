from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "erasure_platform.evidence"
    label = "evidence"
    verbose_name = "Evidence: audit anchors, certificates of erasure, regulator reports"

    def ready(self) -> None:
        from erasure_platform.evidence import events, jobs, periodic  # noqa: F401  (register on import)
