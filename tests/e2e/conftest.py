"""Browser-test harness: a live Django server, a real Celery worker and outbox dispatcher, and
headless Chromium driven by Playwright's sync API.

Reuse (any test module under tests/e2e/, marked @pytest.mark.browser):
- `live_url`                      base URL of the live server (pytest-django `live_server`; transactional DB)
- `new_page()`                    a fresh browser context + page (own cookies: one per person in a journey)
- `staff_user(role, username=)`   a staff account (accounts.services.user_create) with PASSWORD
- `sign_in_as(role, username=)`   → (page, user): a new page already signed in through the login form
- `event_pipeline`                starts a real Celery worker (queues "default,gpu" unless
                                  event_pipeline.start(queues=...) is called first) and a
                                  `manage.py run_dispatcher` subprocess; `event_pipeline.wait_processed(topic)`
- `mailbox`                       e-mails from the live server (Django's mail.outbox, same process) and
                                  from workers (files under VAR_DIR/mail); `mailbox.code_for(address)`
- `owner_files_request(page, ...)` / `owner_verifies(page, status_url, address)`: the owner's journey
  steps, returning the private status URL.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run in a thread
# with a running loop unless told it is safe (it is: the loop only drives the browser).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

# Re-exported for the journeys: helpers, and the platform's worker fixtures (pytest finds fixtures by name).
from tests.platform.conftest import (  # noqa: E402
    REPO_ROOT,
    isolated_anchor_store,
    process_env,
    purge_broker,
    start_worker,
    wait_until,
)

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
PASSWORD = "e2e-pass-2026-long"
CODE_PATTERN = re.compile(r"one-time code is: (\d{6})")
DEFAULT_TIMEOUT_MS = 15_000


# ---- browser -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def live_url(live_server) -> str:
    return live_server.url


@pytest.fixture
def new_page(browser, live_url):
    """Factory: a fresh context (isolated cookies) and page whose relative URLs hit the live server."""
    contexts = []

    def make():
        context = browser.new_context(base_url=live_url)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# ---- people --------------------------------------------------------------------------------------


@pytest.fixture
def staff_user(transactional_db, settings):
    from erasure_platform.accounts.roles import Role
    from erasure_platform.accounts.services import user_create

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    counter = {"n": 0}

    def make(role, username: str | None = None):
        counter["n"] += 1
        roles = [Role(role)] if role else []
        return user_create(
            username=username or f"{Role(role).name.lower() if role else 'norole'}{counter['n']}",
            password=PASSWORD,
            roles=roles,
        )

    return make


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/login/")
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    assert "/login/" not in page.url, f"sign-in failed for {username}: {page.content()[:500]}"


@pytest.fixture
def sign_in_as(new_page, staff_user):
    def make(role, username: str | None = None):
        user = staff_user(role, username)
        page = new_page()
        sign_in(page, user.username)
        return page, user

    return make


# ---- mail ----------------------------------------------------------------------------------------


class Mailbox:
    """Messages sent by the live server (this process) and by worker subprocesses (files)."""

    def __init__(self, folder: Path):
        self.folder = folder

    def messages(self) -> list[dict]:
        from tests.platform.subject_requests.conftest import delivered_mail

        # Owner e-mails leave through the outbox: deliver the queued ones here, through their real
        # consumer (a running event_pipeline may deliver some first; each is sent once either way).
        found = [{"to": list(m.to), "subject": m.subject, "body": m.body} for m in delivered_mail()]
        if self.folder.is_dir():
            for path in sorted(self.folder.glob("*.log"), key=lambda p: p.stat().st_mtime):
                for chunk in path.read_bytes().split(b"-" * 79):
                    if chunk.strip():
                        message = message_from_bytes(chunk.strip(), policy=default_policy)
                        body = message.get_body(preferencelist=("plain",))
                        found.append(
                            {
                                "to": [message["To"]],
                                "subject": str(message["Subject"]),
                                "body": body.get_content() if body else "",
                            }
                        )
        return found

    def to(self, address: str) -> list[dict]:
        return [m for m in self.messages() if address in m["to"]]

    def code_for(self, address: str, *, after: int = 0, timeout: float = 20) -> str:
        """The latest one-time code e-mailed to `address` (among its messages after the first `after`)."""

        def latest():
            for message in reversed(self.to(address)[after:]):
                match = CODE_PATTERN.search(message["body"])
                if match:
                    return match.group(1)
            return None

        return wait_until(latest, timeout=timeout, message=f"a one-time code e-mailed to {address}")


@pytest.fixture
def mailbox(settings):
    from django.core import mail

    mail.outbox = []
    return Mailbox(Path(settings.VAR_DIR) / "mail")


# ---- events: a real worker and dispatcher ----------------------------------------------------------


class EventPipeline:
    def __init__(self, env: dict, start_worker_fixture, log_dir: Path):
        self.env = env
        self._start_worker = start_worker_fixture
        self.log_dir = log_dir
        self.dispatcher = None
        self.workers = []

    def start(self, queues: str = "default,gpu") -> EventPipeline:
        self.workers.append(self._start_worker(queues))
        if self.dispatcher is None:
            self._log = open(self.log_dir / "dispatcher.log", "w")
            self.dispatcher = subprocess.Popen(
                [sys.executable, "manage.py", "run_dispatcher"],
                cwd=REPO_ROOT,
                env=self.env,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self

    def wait_processed(self, topic: str, *, consumer: str | None = None, timeout: float = 60) -> None:
        """Wait until every `topic` event so far was relayed and (if named) consumed by `consumer`."""
        from erasure_platform.core.models import OutboxEvent, ProcessedEvent

        def done():
            events = list(OutboxEvent.objects.filter(topic=topic))
            if not events or any(e.published_at is None for e in events):
                return False
            if consumer:
                ids = {e.id for e in events}
                return ProcessedEvent.objects.filter(consumer=consumer, event_id__in=ids).count() == len(ids)
            return True

        wait_until(done, timeout=timeout, message=f"{topic} events processed{f' by {consumer}' if consumer else ''}")

    def stop(self) -> None:
        if self.dispatcher is not None and self.dispatcher.poll() is None:
            self.dispatcher.terminate()
            try:
                self.dispatcher.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.dispatcher.kill()
                self.dispatcher.wait(timeout=5)
            self._log.close()


@pytest.fixture
def event_pipeline(process_env, start_worker, purge_broker, tmp_path, live_server):
    """A real Celery worker + the outbox dispatcher against the live server's database."""
    pipeline = EventPipeline(process_env, start_worker, tmp_path)
    pipeline.start()
    yield pipeline
    pipeline.stop()  # the worker itself is stopped by start_worker's teardown


# ---- owner journey steps -----------------------------------------------------------------------------


def owner_files_request(
    page,
    *,
    identifier: str,
    jurisdiction: str = "GDPR",
    record_ids: list[str] | None = None,
    contact_email: str = "",
    message: str = "",
) -> str:
    """Fill /requests/new as a data owner; returns the private status URL shown afterwards."""
    page.goto("/requests/new")
    page.get_by_label("Your e-mail address or customer id").fill(identifier)
    if record_ids:
        page.get_by_label("Only the named records").check()
        page.get_by_label("Record ids").fill("\n".join(record_ids))
    page.get_by_label("Which law applies to you?").select_option(jurisdiction)
    if contact_email:
        page.get_by_label("Contact e-mail").fill(contact_email)
    if message:
        page.get_by_label("Message (optional)").fill(message)
    page.get_by_role("button", name="Send my request").click()
    page.wait_for_url(re.compile(r"/requests/s/[^/]+/$"))
    return page.url


def owner_verifies(page, status_url: str, *, address: str, mailbox: Mailbox) -> None:
    page.goto(status_url)
    page.get_by_role("link", name="confirm the identifier is yours").click()
    page.get_by_label("One-time code").fill(mailbox.code_for(address))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(status_url)


@pytest.fixture
def owner_request(new_page, mailbox):
    """Factory: a new owner page that filed (and, by default, verified) a request → (page, status_url)."""

    def make(identifier: str = "owner@example.com", *, verify: bool = True, **kwargs):
        page = new_page()
        status_url = owner_files_request(page, identifier=identifier, **kwargs)
        if verify:
            owner_verifies(
                page,
                status_url,
                address=kwargs.get("contact_email") if "@" not in identifier else identifier,
                mailbox=mailbox,
            )
        return page, status_url

    return make


def request_for_status_url(status_url: str):
    from erasure_platform.subject_requests.selectors import request_get_by_token

    token = re.search(r"/requests/s/([^/]+)/", status_url).group(1)
    return request_get_by_token(token=token)


def officer_opens_request(page, reference: str) -> None:
    page.goto("/requests/queue/")
    page.get_by_role("link", name=reference).click()
    page.get_by_role("heading", name=f"Request {reference}").wait_for()
