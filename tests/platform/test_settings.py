import os
import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from erasure_engine.evidence import generate_private_key_pem
from erasure_platform.env import database_from_url
from tests.platform.conftest import REPO_ROOT

PRODUCTION_ENV = {
    "ERASURE_MODE": "production",
    "DJANGO_SECRET_KEY": "k" * 20 + "-production-secret-with-enough-entropy-0123456789",
    "DATABASE_URL": "postgresql://app:s3cret@db.internal:5432/erasure?sslmode=require",
    "CELERY_BROKER_URL": "redis://broker.internal:6379/0",
    "ERASURE_OBJECT_STORE_URL": "s3://erasure-artifacts/prod",
    "ERASURE_SUBJECT_KEY_SECRET": "subject-secret",
    "ERASURE_FIELD_ENCRYPTION_KEY": "field-secret",
    "ERASURE_ALLOWED_HOSTS": "erasure.example.org",
    "EMAIL_HOST": "smtp.example.org",
    "ERASURE_SIGNING_KEY": generate_private_key_pem().decode(),
    "ERASURE_AUDIT_MAC_KEY": "m" * 64,
}


def manage(args, env_overrides, tmp_path):
    # The browser tests allow async-unsafe ORM calls in their own process; a deploy check must not inherit that.
    env = {k: v for k, v in os.environ.items() if k not in PRODUCTION_ENV and k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(env_overrides)
    env["ERASURE_STATIC_ROOT"] = str(tmp_path / "static")
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_the_deploy_check(tmp_path):
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION_ENV, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "missing",
    [
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "ERASURE_SUBJECT_KEY_SECRET",
        "ERASURE_SIGNING_KEY",
        "ERASURE_AUDIT_MAC_KEY",
        "ERASURE_ALLOWED_HOSTS",
    ],
)
def test_production_refuses_to_start_without_a_secret_or_service(missing, tmp_path):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = manage(["check"], env, tmp_path)
    assert result.returncode != 0
    assert f"environment variable {missing} must be set in production mode" in result.stderr


def test_database_url_parsing():
    config = database_from_url("postgresql://app:p%40ss@db:5433/erasure?sslmode=require")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["USER"], config["PASSWORD"], config["HOST"], config["PORT"], config["NAME"]) == (
        "app",
        "p@ss",
        "db",
        "5433",
        "erasure",
    )
    assert config["OPTIONS"] == {"sslmode": "require"}
    with pytest.raises(ImproperlyConfigured, match="not supported"):
        database_from_url("mysql://db/erasure")
    with pytest.raises(ImproperlyConfigured, match="names no database"):
        database_from_url("postgresql://db:5432/")
