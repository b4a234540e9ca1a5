"""Fixtures shared by every test layer: a real S3 API endpoint (moto's server mode)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid

import pytest

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture(scope="session")
def s3_endpoint():
    """URL of an S3 API over HTTP: the one CI started (ERASURE_TEST_S3_ENDPOINT) or our own moto server."""
    given = os.environ.get("ERASURE_TEST_S3_ENDPOINT")
    if given:
        yield given
        return
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def s3_client(s3_endpoint):
    import boto3

    return boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")


@pytest.fixture
def s3_bucket(s3_client):
    """A fresh versioned bucket per test, so erasure must deal with object versions."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    s3_client.create_bucket(Bucket=name)
    s3_client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


class TeamDatabase:
    """A team's own PostgreSQL database on the test server, with a read-only role (for imports)
    and a role that may also DELETE and UPDATE (for erasure that reaches the source)."""

    def __init__(self, server_url: str):
        from urllib.parse import urlsplit

        import psycopg

        self.suffix = uuid.uuid4().hex[:10]
        self.name = f"team_source_{self.suffix}"
        self.reader, self.eraser = f"team_reader_{self.suffix}", f"team_eraser_{self.suffix}"
        self.password = uuid.uuid4().hex
        parts = urlsplit(server_url)
        self._server = parts
        self.admin_url = parts._replace(path="/postgres", query="").geturl()  # the server's maintenance database
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')
            for role in (self.reader, self.eraser):
                connection.execute(f"CREATE ROLE \"{role}\" LOGIN PASSWORD '{self.password}'")
        self.owner_url = self.url(user=parts.username or "postgres", password=parts.password)

    def url(self, *, user: str, password: str | None = None) -> str:
        auth = f"{user}:{password}@" if password else f"{user}@"
        return f"postgresql://{auth}{self._server.hostname}:{self._server.port}/{self.name}"

    @property
    def reader_url(self) -> str:
        return self.url(user=self.reader, password=self.password)

    @property
    def eraser_url(self) -> str:
        return self.url(user=self.eraser, password=self.password)

    def execute(self, statement: str, params=None) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.owner_url, autocommit=True) as connection:
            cursor = connection.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    def grant(self, table: str) -> None:
        self.execute(f'GRANT SELECT ON {table} TO "{self.reader}", "{self.eraser}"')
        self.execute(f'GRANT DELETE, UPDATE ON {table} TO "{self.eraser}"')

    def drop(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            for role in (self.reader, self.eraser):
                connection.execute(f'DROP ROLE IF EXISTS "{role}"')


@pytest.fixture
def team_database():
    """A fresh database standing for a team's own PostgreSQL (support tickets, customers…) on the
    server scripts/test started (DATABASE_URL)."""
    server = os.environ.get("DATABASE_URL", "")
    if not server.startswith("postgres"):
        pytest.fail(
            "tests of PostgreSQL sources need DATABASE_URL pointing at a PostgreSQL server (scripts/test sets it)"
        )
    database = TeamDatabase(server)
    try:
        yield database
    finally:
        database.drop()
