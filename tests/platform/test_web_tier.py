"""The web role as deployed (gunicorn gthread, flags from deploy/docker-entrypoint.sh): slow
clients holding connections open do not starve the health probe, and long query strings fit."""

from __future__ import annotations

import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests.conftest import free_port, wait_for_port
from tests.platform.conftest import REPO_ROOT

ENTRYPOINT = REPO_ROOT / "deploy" / "docker-entrypoint.sh"


def web_role_flags() -> list[str]:
    """The gunicorn flags of the entrypoint's web role, with its defaults filled in."""
    text = ENTRYPOINT.read_text()
    branch = text[text.index("    web)") : text.index(";;", text.index("    web)"))]
    command = " ".join(line.strip().rstrip("\\") for line in branch.splitlines() if not line.strip().startswith("#"))
    command = re.sub(r'"\$\{\w+:-([^}]*)\}"', r"\1", command)
    words = shlex.split(command[command.index("--bind") :])
    flags = []
    skip = False
    for _index, word in enumerate(words):
        if skip:
            skip = False
            continue
        if word in ("--bind", "--forwarded-allow-ips", "--worker-tmp-dir", "--access-logfile"):
            skip = True
            continue
        if word.startswith('"$@"') or word == "$@":
            break
        flags.append(word)
    return flags


@pytest.fixture
def web(process_env, tmp_path):
    port = free_port()
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "erasure_platform.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            *web_role_flags(),
        ],
        cwd=REPO_ROOT,
        env=process_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        wait_for_port(port, timeout=60)
        deadline = time.monotonic() + 120  # the port opens before the workers have imported Django
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10).close()
                break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "gunicorn.log").read_text()[-3000:]
                time.sleep(0.5)
        yield port
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        log.close()


def test_the_web_role_runs_threads():
    flags = web_role_flags()
    assert flags[flags.index("--worker-class") + 1] == "gthread"
    assert int(flags[flags.index("--threads") + 1]) >= 4


def test_slow_clients_do_not_starve_the_health_probe(web):
    held = []
    for _ in range(6):  # more than the old 3 sync workers
        sock = socket.create_connection(("127.0.0.1", web))
        sock.sendall(
            b"POST /api/requests HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n{"
        )  # never finished
        held.append(sock)
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web}/api/health", timeout=20) as response:
            assert response.status == 200
    finally:
        for sock in held:
            sock.close()


def test_a_long_query_string_reaches_the_application(web):
    url = f"http://127.0.0.1:{web}/api/health?pad={'x' * 6000}"
    with urllib.request.urlopen(url, timeout=20) as response:
        assert response.status == 200
