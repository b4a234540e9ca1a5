"""Web tier under load: intake and status throughput and latency, production mode, loopback.

Starts the web role as deploy/docker-entrypoint.sh does (gunicorn gthread, ERASURE_MODE=production,
PostgreSQL, Redis cache) on 127.0.0.1 and drives it with wrk (C, so the load client takes little
of the CPU it shares with the server): POST /api/requests (a new identifier each time) and the
owner's status, API and portal page, at --connections concurrent connections; and the health
check, a DRF view with one query and no logic, as the floor of this stack on this machine (each
endpoint's rate is also printed as a share of it, a ratio that survives the machine's noise).
Owner throttles are off (one client address); e-mails are queued in the outbox (no worker runs:
none is needed on the request path). Needs `wrk` (apt-get install wrk).

    bench/with_services python3 bench/load_bench.py --connections 32 --seconds 20
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INTAKE_LUA = """
counter = 0
request = function()
  counter = counter + 1
  local body = string.format('{"identifier":"load-%d-%d@example.com","jurisdiction":"GDPR"}', math.random(1000000000), counter)
  return wrk.format("POST", "/api/requests", {["Content-Type"] = "application/json"}, body)
end
"""
STATUS_RE = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(var_dir: Path) -> dict:
    from erasure_engine.evidence import generate_private_key_pem

    env = dict(os.environ)
    env.update(
        {
            "ERASURE_MODE": "production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "ERASURE_SUBJECT_KEY_SECRET": secrets.token_hex(32),
            "ERASURE_FIELD_ENCRYPTION_KEY": secrets.token_urlsafe(32),
            "ERASURE_AUDIT_MAC_KEY": secrets.token_hex(32),
            "ERASURE_SIGNING_KEY": generate_private_key_pem().decode("ascii"),
            "ERASURE_ALLOWED_HOSTS": "127.0.0.1",
            "ERASURE_OBJECT_STORE_URL": (var_dir / "objects").as_uri(),
            "ERASURE_STATIC_ROOT": str(var_dir / "static"),
            # Never contacted on the request path (e-mails go through the outbox); nothing listens here.
            "EMAIL_HOST": "127.0.0.1",
            "EMAIL_PORT": str(free_port()),
            "ERASURE_SSL_REDIRECT": "false",
            "ERASURE_INTAKE_THROTTLE_RATE": "off",
            "ERASURE_VERIFY_THROTTLE_RATE": "off",
            "ERASURE_LOG_LEVEL": "WARNING",
        }
    )
    return env


def wrk(url: str, connections: int, seconds: int, script: Path | None = None) -> dict:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(script)]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+([\d.]+\w+)", out, flags=re.M))
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    errors = STATUS_RE.search(out)
    return {
        "rps": rate,
        "p50": latency.get("50"),
        "p90": latency.get("90"),
        "p99": latency.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": "Socket errors" in out,
        "raw": out,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--worker-class", default="gthread", help="gthread (deploy default) or sync (for comparison)")
    args = parser.parse_args()

    var_dir = Path(tempfile.mkdtemp(prefix="erasure-load-"))
    (var_dir / "static").mkdir()
    env = production_env(var_dir)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    gunicorn = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "erasure_platform.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--worker-class",
            args.worker_class,
            "--workers",
            str(args.workers),
            "--threads",
            str(args.threads),
            "--keep-alive",
            "30",
            "--limit-request-line",
            "8190",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/health", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("gunicorn did not answer /api/health within 60 s")
                time.sleep(0.5)
        created = urllib.request.urlopen(
            urllib.request.Request(
                f"{base}/api/requests",
                data=json.dumps({"identifier": "status@example.com", "jurisdiction": "GDPR"}).encode(),
                headers={"Content-Type": "application/json"},
            ),
            timeout=10,
        )
        token = json.load(created)["access_token"]
        script = var_dir / "intake.lua"
        script.write_text(INTAKE_LUA)
        wrk(f"{base}/api/owner/requests/{token}", args.connections, 3)  # warm-up: connections, imports
        results = {
            "intake POST /api/requests": wrk(f"{base}/api/requests", args.connections, args.seconds, script),
            "status GET /api/owner/requests/<token>": wrk(
                f"{base}/api/owner/requests/{token}", args.connections, args.seconds
            ),
            "status page GET /requests/s/<token>/": wrk(f"{base}/requests/s/{token}/", args.connections, args.seconds),
            # The floor of this stack on this machine: a DRF view with one query and no logic.
            "floor GET /api/health": wrk(f"{base}/api/health", args.connections, args.seconds),
        }
    finally:
        os.killpg(gunicorn.pid, signal.SIGTERM)
        gunicorn.wait(timeout=30)
    print(
        f"gunicorn {args.worker_class}, {args.workers} workers x {args.threads} threads; wrk 2 threads, "
        f"{args.connections} connections, {args.seconds} s each; {os.cpu_count()} CPUs shared with the load client"
    )
    floor = results["floor GET /api/health"]["rps"]
    print(f"{'endpoint':42} {'req/s':>8} {'of floor':>8} {'p50':>9} {'p90':>9} {'p99':>9} {'non-2xx':>8}")
    for name, result in results.items():
        print(
            f"{name:42} {result['rps']:8.1f} {result['rps'] / floor:8.2f} {result['p50']:>9} {result['p90']:>9}"
            f" {result['p99']:>9} {result['non_2xx']:8d}"
        )


if __name__ == "__main__":
    main()
