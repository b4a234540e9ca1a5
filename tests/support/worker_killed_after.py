"""A Celery worker (same flags as tests.platform.conftest.WorkerProcess) whose pool process, the one
running the job (and holding the GPU), is SIGKILLed right after a chosen platform function returns:
the crash window between a durable effect and the job's own bookkeeping, hit deterministically.
Each function kills once: a marker file in MARKER_DIR remembers it across the pool processes that
the worker forks to replace the dead ones.

usage: worker_killed_after.py MARKER_DIR MODULE:FUNCTION[,MODULE:FUNCTION...] CELERY-WORKER-ARGUMENTS...
"""

import importlib
import os
import signal
import sys
from pathlib import Path

import django

django.setup()

from workers.celery_app import app  # noqa: E402

markers, targets, arguments = Path(sys.argv[1]), sys.argv[2].split(","), sys.argv[3:]
markers.mkdir(parents=True, exist_ok=True)


def kill_after(target: str) -> None:
    module_name, function_name = target.split(":")
    module = importlib.import_module(module_name)
    real = getattr(module, function_name)

    def then_die(*args, **kwargs):
        result = real(*args, **kwargs)
        marker = markers / target.replace(":", "-")
        if not marker.exists():
            marker.touch()
            print(f"{target} returned; killing the pool process {os.getpid()}", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    setattr(module, function_name, then_die)


for target in targets:
    kill_after(target)
app.worker_main(["worker", *arguments])
