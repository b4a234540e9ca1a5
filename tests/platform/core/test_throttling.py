"""Owner-endpoint limits hold: counted in the shared cache (every web process sees the same
counts), keyed on the address the trusted proxy saw, and applied to the portal's forms too."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest
from django.test import Client

from erasure_platform.core.cache import RedisCache
from tests.platform.conftest import REPO_ROOT

BODY = {"identifier": "a@example.com", "jurisdiction": "GDPR"}


def a_client_address() -> str:
    return f"198.51.100.{uuid.uuid4().int % 250 + 1}-{uuid.uuid4().hex[:6]}"  # unique per test run


def file_request(client_address: str, forwarded_for: str | None = None, proxy: str = "10.0.0.2"):
    headers = {"REMOTE_ADDR": proxy if forwarded_for is not None else client_address}
    if forwarded_for is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return Client().post("/api/requests", json.dumps(BODY), content_type="application/json", **headers)


@pytest.fixture
def two_per_minute(settings):
    settings.ERASURE_INTAKE_THROTTLE_RATE = "2/minute"
    settings.ERASURE_VERIFY_THROTTLE_RATE = "2/minute"


@pytest.mark.django_db
def test_rotating_x_forwarded_for_does_not_make_a_new_client(settings, two_per_minute):
    settings.ERASURE_TRUSTED_PROXIES = 1
    client = a_client_address()
    statuses = [file_request(client, forwarded_for=f"{uuid.uuid4()}, {client}").status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    # Another client behind the same proxy has its own count.
    assert file_request(a_client_address(), forwarded_for=f"1.2.3.4, {a_client_address()}").status_code == 201


@pytest.mark.django_db
def test_without_trusted_proxies_x_forwarded_for_is_ignored(settings, two_per_minute):
    settings.ERASURE_TRUSTED_PROXIES = 0
    proxy = a_client_address()
    statuses = [file_request("", forwarded_for=str(uuid.uuid4()), proxy=proxy).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]


@pytest.mark.django_db
def test_the_portal_form_shares_the_api_limit(two_per_minute):
    client = a_client_address()
    assert file_request(client).status_code == 201
    portal = Client(REMOTE_ADDR=client)
    form = {**BODY, "scope_type": "all"}
    assert portal.post("/requests/new", form).status_code == 302
    refused = portal.post("/requests/new", form)
    assert refused.status_code == 429 and b"Too many attempts" in refused.content


@pytest.mark.django_db
def test_the_certificate_check_form_is_limited_like_the_api(two_per_minute):
    client = a_client_address()
    api = Client(REMOTE_ADDR=client)
    for _ in range(2):
        assert (
            api.post("/api/certificates/verify", {"certificate": "{}"}, content_type="application/json").status_code
            == 200
        )
    assert Client(REMOTE_ADDR=client).post("/evidence/certificates/check/", {}).status_code == 429


def test_counts_are_shared_between_processes(process_env, settings):
    """Another web process (a separate interpreter on the same database cache) consumes the same
    allowance: 2 per minute in all, not 2 per process."""
    settings.ERASURE_INTAKE_THROTTLE_RATE = "2/minute"
    client = a_client_address()
    script = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        f"r = Client().post('/api/requests', json.dumps({BODY!r}), content_type='application/json', REMOTE_ADDR={client!r})\n"
        "print(r.status_code)\n"
    )
    env = {**process_env, "ERASURE_INTAKE_THROTTLE_RATE": "2/minute"}

    def other_process() -> int:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return int(done.stdout.strip().splitlines()[-1])

    assert other_process() == 201
    assert file_request(client).status_code == 201
    assert other_process() == 429
    assert file_request(client).status_code == 429


def test_the_redis_cache_keeps_one_client_and_counts_across_threads():
    """Production's cache (ERASURE_CACHE_URL) builds its redis client once per process, not once
    per call, and that client serves every thread: a throttle's get and set still see each other."""
    import os
    import threading
    from urllib.parse import urlparse

    broker = urlparse(os.environ.get("CELERY_BROKER_URL", ""))
    assert broker.scheme == "redis", "run the suite through scripts/test: it starts the Redis this test shares"
    cache = RedisCache(f"redis://{broker.netloc}/13", {})
    key = f"throttle-test-{uuid.uuid4().hex}"
    assert cache._cache.get_client(key) is cache._cache.get_client(key, write=True)
    assert cache.add(key, 0)
    errors = []

    def bump():
        try:
            for _ in range(50):
                cache.incr(key)
        except Exception as error:  # noqa: BLE001 — collected for the assertion below
            errors.append(error)

    threads = [threading.Thread(target=bump) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and cache.get(key) == 200
    cache.delete(key)


def start_gunicorn(env: dict, log_path) -> tuple[subprocess.Popen, int]:
    import time
    import urllib.request

    from tests.conftest import free_port, wait_for_port

    port = free_port()
    log = open(log_path, "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "erasure_platform.wsgi:application", "--bind", f"127.0.0.1:{port}"]
        + ["--workers", "3", "--worker-class", "sync", "--timeout", "120"],
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_port(port, timeout=60)
    deadline = time.monotonic() + 120  # the port opens before the workers have imported Django
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10).close()
            return process, port
        except OSError:
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.5)


@pytest.mark.parametrize("store", ["redis", "database"])
def test_concurrent_intakes_in_three_processes_never_pass_the_limit(store, process_env, tmp_path):
    """100 intakes from one address, 3 at a time against 3 gunicorn worker processes: exactly the
    limit is accepted (DRF's read-then-write history let 38 of 30 through), the rest answer 429."""
    import os
    import signal
    import urllib.error
    import urllib.request
    from concurrent.futures import ThreadPoolExecutor
    from urllib.parse import urlparse

    env = {**process_env, "ERASURE_INTAKE_THROTTLE_RATE": "30/minute", "ERASURE_TRUSTED_PROXIES": "1"}
    if store == "redis":
        broker = urlparse(os.environ.get("CELERY_BROKER_URL", ""))
        assert broker.scheme == "redis", "run the suite through scripts/test: it starts the Redis this test shares"
        env["ERASURE_CACHE_URL"] = f"redis://{broker.netloc}/14"
    else:
        env.pop("ERASURE_CACHE_URL", None)
    client = a_client_address()  # a fresh address: its counters start at zero in either store
    process, port = start_gunicorn(env, tmp_path / "gunicorn.log")

    def intake(number: int) -> int:
        body = json.dumps({"identifier": f"person{number}-{uuid.uuid4().hex[:6]}@example.com", "jurisdiction": "GDPR"})
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/api/requests",
            data=body.encode(),
            headers={"Content-Type": "application/json", "X-Forwarded-For": client},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            statuses = list(pool.map(intake, range(100)))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    assert statuses.count(201) == 30, (statuses, (tmp_path / "gunicorn.log").read_text()[-2000:])
    assert statuses.count(429) == 70
