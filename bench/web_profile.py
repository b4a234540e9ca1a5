"""Where a web request's time goes: intake and status, in-process, production settings, PostgreSQL.

Runs the views through Django's test client (no server, no network client), so what is measured
is the application's own cost per request: the SQL it sends (count and statements), and a
cProfile of N requests per endpoint. Settings are the load bench's (ERASURE_MODE=production,
PostgreSQL, Redis cache); throttles stay on unless --no-throttle.

    bench/with_services python3 bench/web_profile.py --requests 200 --top 25
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "platform"), str(ROOT), str(ROOT / "bench")]


def setup(throttle: bool) -> None:
    from load_bench import production_env

    var_dir = Path(tempfile.mkdtemp(prefix="erasure-profile-"))
    (var_dir / "static").mkdir()
    env = production_env(var_dir)
    if throttle:
        env["ERASURE_INTAKE_THROTTLE_RATE"] = "1000000/minute"
        env["ERASURE_VERIFY_THROTTLE_RATE"] = "1000000/minute"
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "erasure_platform.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def measure(
    name: str, call, requests: int, top: int, sort: str, callers: str = "", callees: str = "", profile: bool = True
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(20):
        call()  # warm: imports, templates, connection
    started_cpu, started = time.process_time(), time.perf_counter()
    for _ in range(requests):
        call()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    unprofiled = f"unprofiled {1000 * wall / requests:.2f} ms wall, {1000 * cpu / requests:.2f} ms CPU each"
    with CaptureQueriesContext(connection) as queries:
        call()
    print(f"\n=== {name}: {len(queries)} queries per request")
    for query in queries.captured_queries:
        print(f"  {query['time']:>6}s  {query['sql'][:220]}")
    if not profile:
        print(f"  {requests} requests: {unprofiled}")
        return
    profile = cProfile.Profile()
    started_cpu, started = time.process_time(), time.perf_counter()
    profile.enable()
    for _ in range(requests):
        call()
    profile.disable()
    cpu, wall = time.process_time() - started_cpu, time.perf_counter() - started
    print(
        f"  {requests} requests: {unprofiled}; profiled {1000 * wall / requests:.2f} ms wall, {1000 * cpu / requests:.2f} ms CPU"
    )
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).sort_stats(sort)
    stats.print_stats(top)
    if callers:
        stats.print_callers(callers)
    if callees:
        stats.print_callees(callees)
    print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--only", default="", help="comma-separated: intake,form,status,page")
    parser.add_argument("--no-throttle", action="store_true")
    parser.add_argument("--no-profile", action="store_true", help="time only (CPU and wall per request)")
    parser.add_argument("--callers", default="", help="also print the callers of functions matching this")
    parser.add_argument("--callees", default="", help="also print the callees of functions matching this")
    args = parser.parse_args()
    setup(throttle=not args.no_throttle)
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    counter = iter(range(10**9))
    created = client.post(
        "/api/requests", {"identifier": "status@example.com", "jurisdiction": "GDPR"}, content_type="application/json"
    )
    token = created.json()["access_token"]

    def intake():
        response = client.post(
            "/api/requests",
            {"identifier": f"load-{next(counter)}@example.com", "jurisdiction": "GDPR"},
            content_type="application/json",
        )
        assert response.status_code == 201, response.content

    form_client = Client(HTTP_HOST="127.0.0.1")

    def form():
        form_client.cookies.clear()  # a browser reads its message on the next page; this client never does
        response = form_client.post(
            "/requests/new/",
            {"identifier": f"form-{next(counter)}@example.com", "jurisdiction": "GDPR", "scope_type": "all"},
        )
        assert response.status_code == 302, response.content[:2000]

    def status():
        assert client.get(f"/api/owner/requests/{token}").status_code == 200

    def page():
        assert client.get(f"/requests/s/{token}/").status_code == 200

    calls = {"intake": intake, "form": form, "status": status, "page": page}
    only = [name for name in args.only.split(",") if name] or list(calls)
    for name in only:
        measure(name, calls[name], args.requests, args.top, args.sort, args.callers, args.callees, not args.no_profile)


if __name__ == "__main__":
    main()
