"""Queue names, in one import-light place (no Django, no Celery, no torch): the platform names a
job's queue, the workers consume them, and neither imports the other for it."""

DEFAULT_QUEUE = "default"
GPU_QUEUE = "gpu"
ALL_QUEUES = (DEFAULT_QUEUE, GPU_QUEUE)
