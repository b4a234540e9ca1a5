"""Queue names, in one import-light place (no Django, no Celery, no torch)."""

DEFAULT_QUEUE = "default"
GPU_QUEUE = "gpu"
ALL_QUEUES = (DEFAULT_QUEUE, GPU_QUEUE)
