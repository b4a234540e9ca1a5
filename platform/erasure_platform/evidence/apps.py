from django.apps import AppConfig


class EvidenceConfig(AppConfig):
    name = "erasure_platform.evidence"
    label = "evidence"
    verbose_name = "Evidence: audit anchors, certificates of erasure, regulator reports"

    def ready(self) -> None:
        from erasure_platform.evidence import consumers, periodic  # noqa: F401  (register on import)
        from erasure_platform.evidence.services import reports  # noqa: F401  (the report job handler)
