from django.apps import AppConfig


class SubjectRequestsConfig(AppConfig):
    name = "erasure_platform.subject_requests"
    label = "subject_requests"
    verbose_name = "Erasure requests, identity verification, review and deadlines"

    def ready(self) -> None:
        from erasure_platform.subject_requests import events, periodic  # noqa: F401  (register on import)
