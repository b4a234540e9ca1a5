"""The README's run command, from a clean state directory, serves the portal and the API."""

import json
import os
import signal
import subprocess
import urllib.request

from tests.conftest import free_port
from tests.platform.conftest import REPO_ROOT, wait_until


def fetch(url: str):
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except OSError:
        return None


def test_run_command_serves_home_page_and_health_and_runs_jobs(tmp_path):
    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "ERASURE_OBJECT_STORE_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["ERASURE_VAR_DIR"] = str(tmp_path / "var")
    log = open(tmp_path / "run.log", "w")
    process = subprocess.Popen(
        [str(REPO_ROOT / "scripts" / "run"), "--port", str(port)],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        home = wait_until(lambda: fetch(base + "/"), timeout=240, interval=1, message="the portal to answer")
        assert home[0] == 200 and b"Ask us to forget you" in home[1]
        status, body = fetch(base + "/api/health")
        assert status == 200 and json.loads(body)["status"] == "ok"
        assert f"running at http://127.0.0.1:{port}/" in (tmp_path / "run.log").read_text()

        # The embedded worker and dispatcher are alive: a job goes through on the filesystem broker.
        shell = (
            "from erasure_platform.core.services.jobs import job_create;"
            "print(job_create(kind='system.selftest', params={'steps': 2, 'step_seconds': 0}, actor='test').id)"
        )
        created = subprocess.run(
            ["python3", "manage.py", "shell", "-c", shell],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert created.returncode == 0, created.stderr
        job_id = created.stdout.strip().splitlines()[-1]
        check = f"from erasure_platform.core.models import Job; print(Job.objects.get(pk='{job_id}').status)"

        def job_status():
            result = subprocess.run(
                ["python3", "manage.py", "shell", "-c", check],
                cwd=REPO_ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            lines = result.stdout.strip().splitlines()
            return lines[-1] if lines and lines[-1] in ("succeeded", "failed") else None

        assert (
            wait_until(job_status, timeout=120, interval=1, message="the embedded worker to run the job") == "succeeded"
        )

        # Demo users for each role and a trained, released demo model are there.
        demo = (
            "from django.contrib.auth.models import User; from erasure_platform.registry.models import Alias;"
            "print(sorted(User.objects.values_list('username', flat=True)),"
            " list(Alias.objects.filter(name='production').values_list('model__name', flat=True)))"
        )
        seeded = subprocess.run(
            ["python3", "manage.py", "shell", "-c", demo],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (
            seeded.stdout.strip().splitlines()[-1]
            == "['approver', 'auditor', 'engineer', 'officer'] ['demo-classifier']"
        )
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)
        log.close()
