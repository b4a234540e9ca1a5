"""Celery workers. Tasks are thin: they call platform services."""
