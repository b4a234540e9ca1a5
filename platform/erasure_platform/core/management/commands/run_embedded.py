"""Run the whole platform on one machine: web, dispatcher and a worker per queue."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from erasure_platform.core.queues import DEFAULT_QUEUE, GPU_QUEUE

REPO_ROOT = Path(__file__).resolve().parents[5]


class Command(BaseCommand):
    help = "Migrate, create demo users, then start web + dispatcher + workers until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=int(os.environ.get("ERASURE_PORT", "8000")))
        parser.add_argument("--no-demo", action="store_true", help="skip demo users and the demo model")

    def handle(self, *args, **options):
        if not 1 <= options["port"] <= 65535:
            raise CommandError(f"--port {options['port']} is not a TCP port")
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("database migrated")
        if not options["no_demo"] and not settings.PRODUCTION:
            call_command("seed_demo")
            self.stdout.write("training the demo model on the CPU (first start only; about a minute)...")
            call_command("seed_demo_model")
        python = sys.executable
        manage = str(REPO_ROOT / "manage.py")
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT / "platform"), os.environ.get("PYTHONPATH")])),
        }
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "erasure_platform.wsgi:application",
                "--bind",
                f"{options['host']}:{options['port']}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
            ],
            "dispatcher": [python, manage, "run_dispatcher"],
            "worker-default": self._worker(python, DEFAULT_QUEUE, concurrency=2),
            # One GPU job at a time per device; the pool forks children, so the parent
            # must stay free of CUDA (it is: nothing imports torch at module level).
            "worker-gpu": self._worker(python, GPU_QUEUE, concurrency=1),
        }
        processes = {
            name: subprocess.Popen(command, cwd=REPO_ROOT, env=env, start_new_session=True)
            for name, command in commands.items()
        }
        stopping = False

        def stop(signum, frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        url = f"http://{options['host']}:{options['port']}/"
        self.stdout.write(self.style.SUCCESS(f"\nErasure platform running at {url}  (API health: {url}api/health)"))
        self.stdout.write("Demo users: officer, engineer, approver, auditor — password demo-pass-2026. Ctrl-C stops.\n")
        exit_code = 0
        try:
            while not stopping:
                for name, process in processes.items():
                    if process.poll() is not None:
                        self.stderr.write(f"{name} exited with status {process.returncode}; stopping the platform")
                        exit_code = 1
                        stopping = True
                time.sleep(0.5)
        finally:
            for process in processes.values():
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
            deadline = time.monotonic() + 20
            for process in processes.values():
                try:
                    process.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        if exit_code:
            raise SystemExit(exit_code)

    @staticmethod
    def _worker(python: str, queue: str, *, concurrency: int) -> list[str]:
        return [
            python,
            "-m",
            "celery",
            "-A",
            "workers.celery_app",
            "worker",
            "-Q",
            queue,
            "-n",
            f"{queue}@%h",
            "--concurrency",
            str(concurrency),
            "--pool",
            "prefork",
            "--loglevel",
            "INFO",
            "--without-gossip",
            "--without-mingle",
        ]
