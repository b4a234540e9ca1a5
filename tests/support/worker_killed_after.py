"""A Celery worker (same flags as tests.platform.conftest.WorkerProcess) whose whole process group
dies (SIGKILL) right after the first call of a chosen platform function returns: the crash window
between a durable effect and the job's own bookkeeping, hit deterministically.

usage: worker_killed_after.py MODULE:FUNCTION CELERY-WORKER-ARGUMENTS...
"""

import importlib
import os
import signal
import sys

import django

django.setup()

from workers.celery_app import app  # noqa: E402

target, arguments = sys.argv[1], sys.argv[2:]
module_name, function_name = target.split(":")
module = importlib.import_module(module_name)
real = getattr(module, function_name)


def then_die(*args, **kwargs):
    result = real(*args, **kwargs)
    print(f"{target} returned; killing the worker", flush=True)
    os.killpg(os.getpgrp(), signal.SIGKILL)
    return result  # unreachable


setattr(module, function_name, then_die)
app.worker_main(["worker", *arguments])
