import os
import subprocess
import sys

from tests.platform.conftest import REPO_ROOT


def test_stdlib_platform_module_inside_the_django_process():
    import platform

    import django

    assert django.apps.apps.ready
    assert platform.system() == os.uname().sysname
    assert platform.__file__.endswith("platform.py")


def test_stdlib_platform_in_a_manage_py_process():
    script = "import platform, uuid; print(platform.system(), uuid.uuid4().version)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    # Django's shell may print its own banner lines first; ours is the last one.
    assert result.stdout.strip().splitlines()[-1].split() == [os.uname().sysname, "4"]


def test_packages_import_from_any_directory(tmp_path):
    script = "import erasure_platform.settings, erasure_engine, erasure_platform.core.queues, migrations.core, platform; print(platform.system())"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == os.uname().sysname


def test_worker_modules_do_not_load_torch():
    # CUDA must never be initialised in a worker's parent process: torch loads only inside tasks.
    # (workers.publisher is the dispatcher's, not a worker's: it runs after django.setup().)
    script = "import sys, workers.celery_app, workers.tasks; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
