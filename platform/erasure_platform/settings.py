"""Settings for both modes.

ERASURE_MODE=embedded (the default): nothing to install — SQLite under var/, a filesystem
object store, Celery's filesystem transport, email written to files, secrets generated once
into var/secrets.json. Any production variable below still overrides its embedded default
(the test suite uses that to run on PostgreSQL).

ERASURE_MODE=production: everything comes from the environment and missing secrets stop
the process at start-up.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from erasure_engine.datagen import DEFAULT_PUBLIC_PERSONS, PUBLIC_PERSONS_ENV
from erasure_platform.env import database_from_url, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parents[2]
MODE = env_str("ERASURE_MODE", "embedded")
if MODE not in ("embedded", "production"):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"ERASURE_MODE={MODE!r}: use 'embedded' or 'production'")
PRODUCTION = MODE == "production"
VAR_DIR = Path(env_str("ERASURE_VAR_DIR", str(BASE_DIR / "var"))).resolve()


def _embedded_secrets() -> dict:
    """Generated once per embedded installation; production never reads this file."""
    from erasure_engine.evidence import generate_private_key_pem

    VAR_DIR.mkdir(parents=True, exist_ok=True)
    path = VAR_DIR / "secrets.json"
    values = json.loads(path.read_text()) if path.exists() else {}
    generators = {
        "secret_key": lambda: secrets.token_urlsafe(50),
        "subject_key_secret": lambda: secrets.token_hex(32),
        "field_encryption_key": lambda: secrets.token_urlsafe(32),
        "signing_key_pem": lambda: generate_private_key_pem().decode("ascii"),
        "audit_mac_key": lambda: secrets.token_hex(32),
    }
    missing = {name: make() for name, make in generators.items() if name not in values}
    if missing:
        values.update(missing)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(values, handle)
        if path.exists():
            # Another process may have written first: keep whichever file landed first.
            os.unlink(tmp)
            return _merge_existing(path, values)
        os.replace(tmp, path)
    return values


def _merge_existing(path: Path, ours: dict) -> dict:
    existing = json.loads(path.read_text())
    if all(name in existing for name in ours):
        return existing
    existing.update({name: value for name, value in ours.items() if name not in existing})
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(existing, handle)
    os.replace(tmp, path)
    return existing


_local = {} if PRODUCTION else _embedded_secrets()

SECRET_KEY = env_str("DJANGO_SECRET_KEY", _local.get("secret_key"), required=PRODUCTION)
# Keyed hash for subject identifiers (erasure_engine.records.subject_key).
SUBJECT_KEY_SECRET = env_str("ERASURE_SUBJECT_KEY_SECRET", _local.get("subject_key_secret"), required=PRODUCTION)
# Encrypts requesters' contact details at rest.
FIELD_ENCRYPTION_KEY = env_str("ERASURE_FIELD_ENCRYPTION_KEY", _local.get("field_encryption_key"), required=PRODUCTION)
# Ed25519 private key (PEM) that signs certificates of erasure and audit-chain anchors.
EVIDENCE_SIGNING_KEY = env_str("ERASURE_SIGNING_KEY", _local.get("signing_key_pem"), required=PRODUCTION)
# HMAC key every audit event carries a MAC with (at least 32 bytes, hex or text). Held by the
# processes that write events and by the verifier; never stored in the database.
AUDIT_MAC_KEY = env_str("ERASURE_AUDIT_MAC_KEY", _local.get("audit_mac_key"), required=PRODUCTION)
if AUDIT_MAC_KEY is not None and len(AUDIT_MAC_KEY) < 32:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("ERASURE_AUDIT_MAC_KEY must be at least 32 characters (e.g. secrets.token_hex(32))")

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list(
    "ERASURE_ALLOWED_HOSTS", [] if PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"]
)
if PRODUCTION and not ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("environment variable ERASURE_ALLOWED_HOSTS must be set in production mode")
CSRF_TRUSTED_ORIGINS = env_list("ERASURE_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "erasure_platform.core",
    "erasure_platform.accounts",
    "erasure_platform.portal",
    "erasure_platform.subject_requests",
    "erasure_platform.registry",
    "erasure_platform.orchestration",
    "erasure_platform.evidence",
]

# Project migrations live in the top-level migrations/ package, one sub-package per app.
MIGRATION_MODULES = {
    "core": "migrations.core",
    "accounts": "migrations.accounts",
    "portal": "migrations.portal",
    "subject_requests": "migrations.subject_requests",
    "registry": "migrations.registry",
    "orchestration": "migrations.orchestration",
    "evidence": "migrations.evidence",
}

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "erasure_platform.urls"
WSGI_APPLICATION = "erasure_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "erasure_platform.portal.navigation.navigation",
                "erasure_platform.portal.navigation.embedded_demo",
            ],
        },
    },
]

_database_url = env_str("DATABASE_URL", required=PRODUCTION)
if _database_url:
    DATABASES = {"default": database_from_url(_database_url)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "erasure.sqlite3",
            "OPTIONS": {
                # Web, dispatcher and workers share the file: WAL lets readers run beside
                # the writer, and IMMEDIATE transactions take the write lock up front so
                # two writers queue instead of failing with "database is locked".
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "portal:login"
LOGIN_REDIRECT_URL = "portal:start"  # each role lands on its own work list
LOGOUT_REDIRECT_URL = "portal:home"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("ERASURE_STATIC_ROOT", str(VAR_DIR / "static")))
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # production images collect static files at build time
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

# Object store for datasets, models and evidence (erasure_engine.storage URL).
OBJECT_STORE_URL = env_str("ERASURE_OBJECT_STORE_URL", (VAR_DIR / "objects").as_uri(), required=PRODUCTION)
OBJECT_STORE_ENDPOINT_URL = env_str("AWS_ENDPOINT_URL_S3")

# Celery: the broker carries only "go look at this row"; state lives in the database.
_broker_folder = VAR_DIR / "broker"
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://", required=PRODUCTION)
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (_broker_folder / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_folder / "queue"),
        "data_folder_out": str(_broker_folder / "queue"),
        "processed_folder": str(_broker_folder / "processed"),
        "control_folder": str(_broker_folder / "control"),
        "store_processed": False,
    }
else:
    # Longer than any job's lease renewal gap: the reaper, not the broker, decides when a
    # job is lost, so redelivery must not race a healthy long-running worker.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("ERASURE_BROKER_VISIBILITY_TIMEOUT", 43200)}

# Language models trained here learn their tokenizer and shared LoRA base from text about no data
# subject: general sentences plus biographies of this many made-up public persons in the records'
# formats (a base that knows the formats is what keeps a sharded ensemble near a single model's
# quality: docs/benchmarks.md, SISA run 5). Fewer is faster and weaker.
LM_BASE_PUBLIC_PERSONS = env_int(PUBLIC_PERSONS_ENV, DEFAULT_PUBLIC_PERSONS)  # the engine CLI reads the same

# Jobs: lease and heartbeat (seconds). A job whose lease lapses is requeued by the reaper.
JOB_LEASE_SECONDS = env_int("ERASURE_JOB_LEASE_SECONDS", 60)
JOB_REAP_INTERVAL_SECONDS = env_int("ERASURE_JOB_REAP_INTERVAL_SECONDS", 15)
JOB_MAX_ATTEMPTS = env_int("ERASURE_JOB_MAX_ATTEMPTS", 3)
# A queued job nobody claimed for this long is announced again (its message may be lost).
# Long, so that jobs merely waiting behind a busy GPU do not pile up duplicate messages.
JOB_REANNOUNCE_SECONDS = env_int("ERASURE_JOB_REANNOUNCE_SECONDS", 3600)
OUTBOX_POLL_SECONDS = float(env_str("ERASURE_OUTBOX_POLL_SECONDS", "0.5"))
# The function the dispatcher hands each outbox event to (the broker side lives in workers/,
# which imports the platform; naming it here keeps the platform from importing workers).
OUTBOX_PUBLISHER = "workers.publisher.celery_publish"
# A broker crash loses the messages it held: an event published this long ago that a consumer has
# not processed yet is published again (checked every INTERVAL, up to MAX_PUBLISH_ATTEMPTS
# publications, looking back HORIZON). Consumers keep receipts, so a spare delivery does nothing.
OUTBOX_REDELIVER_SECONDS = env_int("ERASURE_OUTBOX_REDELIVER_SECONDS", 300)
OUTBOX_REDELIVER_INTERVAL_SECONDS = env_int("ERASURE_OUTBOX_REDELIVER_INTERVAL_SECONDS", 60)
OUTBOX_REDELIVER_HORIZON_SECONDS = env_int("ERASURE_OUTBOX_REDELIVER_HORIZON_SECONDS", 7 * 86400)
OUTBOX_MAX_PUBLISH_ATTEMPTS = env_int("ERASURE_OUTBOX_MAX_PUBLISH_ATTEMPTS", 5)
# Unlearning batches: requests for the same model inside the window share one unlearning run.
# A batch closes when no request joined for WINDOW seconds, at MAX_AGE, or DEADLINE_MARGIN
# before its earliest member's legal deadline — the deadline always wins.
ERASURE_BATCH_WINDOW_SECONDS = env_int("ERASURE_BATCH_WINDOW_SECONDS", 6 * 3600 if PRODUCTION else 30)
ERASURE_BATCH_MAX_AGE_SECONDS = env_int("ERASURE_BATCH_MAX_AGE_SECONDS", 3 * 86400 if PRODUCTION else 120)
ERASURE_BATCH_DEADLINE_MARGIN_SECONDS = env_int(
    "ERASURE_BATCH_DEADLINE_MARGIN_SECONDS", 5 * 86400 if PRODUCTION else 60
)
# Bring your own model: local directories and s3:// prefixes the API and portal may import model
# versions from (the management command, run by an operator on the host, may read any path).
ERASURE_MODEL_IMPORT_ROOTS = env_list("ERASURE_MODEL_IMPORT_ROOTS", [] if PRODUCTION else [str(VAR_DIR / "imports")])
# Bring your own data: local directories and s3:// prefixes the API and portal may import dataset
# files from (the management command may read any path). The embedded demo also allows the
# README's worked example (docs/examples).
ERASURE_DATASET_IMPORT_ROOTS = env_list(
    "ERASURE_DATASET_IMPORT_ROOTS",
    [] if PRODUCTION else [str(VAR_DIR / "imports"), str(BASE_DIR / "docs" / "examples")],
)
# Named PostgreSQL sources a team's data may be imported from: ERASURE_DATASET_SOURCES lists the
# names; ERASURE_SOURCE_<NAME>_URL is the (read-only) role's URL the import uses, and
# ERASURE_SOURCE_<NAME>_ERASE_URL the role allowed to DELETE/UPDATE the rows erasure reaches
# (default: the import's URL). Only the name is ever stored; the URLs stay in the environment.
DATASET_SOURCES = {
    name: {
        "url": env_str(f"ERASURE_SOURCE_{name.upper()}_URL", required=True),
        "erase_url": env_str(f"ERASURE_SOURCE_{name.upper()}_ERASE_URL")
        or env_str(f"ERASURE_SOURCE_{name.upper()}_URL", required=True),
    }
    for name in env_list("ERASURE_DATASET_SOURCES", [])
}
# Requesters' contact details are purged this many days after a request is closed.
ERASURE_CONTACT_RETENTION_DAYS = env_int("ERASURE_CONTACT_RETENTION_DAYS", 30)
ERASURE_RETENTION_INTERVAL_SECONDS = env_int("ERASURE_RETENTION_INTERVAL_SECONDS", 3600)

# Audit transparency log (docs/transparency-log.md). The dispatcher folds new events into the
# Merkle log and signs a tree head every AUDIT_STH_INTERVAL_SECONDS; it publishes the latest
# tree head to the anchor store every AUDIT_ANCHOR_INTERVAL_SECONDS, locked for
# AUDIT_ANCHOR_RETENTION_DAYS (S3 Object Lock, compliance mode) where supported. A verifier
# names a gap of more than AUDIT_ANCHOR_MAX_GAP_SECONDS between anchors as a missing anchor.
AUDIT_STH_INTERVAL_SECONDS = env_int("ERASURE_AUDIT_STH_INTERVAL_SECONDS", 2)
AUDIT_FOLD_BATCH_SIZE = env_int("ERASURE_AUDIT_FOLD_BATCH_SIZE", 5000)
AUDIT_ANCHOR_INTERVAL_SECONDS = env_int("ERASURE_AUDIT_ANCHOR_INTERVAL_SECONDS", 60)
# The log's origin in its C2SP checkpoints (/api/log/checkpoint): a stable, unique name such as
# "erasure.example.com/audit-log", also the name of the checkpoint's signing key. Empty: derived
# from the signing key's id.
AUDIT_LOG_ORIGIN = env_str("ERASURE_LOG_ORIGIN", "")
AUDIT_ANCHOR_MAX_GAP_SECONDS = env_int("ERASURE_AUDIT_ANCHOR_MAX_GAP_SECONDS", 3 * AUDIT_ANCHOR_INTERVAL_SECONDS)
AUDIT_ANCHOR_RETENTION_DAYS = env_int("ERASURE_AUDIT_ANCHOR_RETENTION_DAYS", 2555)
# Where anchors go, and as whom: a separate identity whose policy can put but never delete
# (deploy/minio/anchor-policy.json). Unset: the platform's object store and credentials.
AUDIT_ANCHOR_STORE_URL = env_str("ERASURE_AUDIT_ANCHOR_STORE_URL", OBJECT_STORE_URL)
AUDIT_ANCHOR_ENDPOINT_URL = env_str("ERASURE_AUDIT_ANCHOR_ENDPOINT_URL", OBJECT_STORE_ENDPOINT_URL)
AUDIT_ANCHOR_ACCESS_KEY_ID = env_str("ERASURE_AUDIT_ANCHOR_ACCESS_KEY_ID")
AUDIT_ANCHOR_SECRET_ACCESS_KEY = env_str("ERASURE_AUDIT_ANCHOR_SECRET_ACCESS_KEY")
# PostgreSQL roles the log migration grants to (deploy/postgres/init-roles.sh): the app role
# may only INSERT events; only the log role (the dispatcher's) may add leaves and tree heads.
AUDIT_DB_APP_ROLE = env_str("ERASURE_DB_APP_ROLE", "erasure_app")
AUDIT_DB_LOG_ROLE = env_str("ERASURE_DB_LOG_ROLE", "erasure_log")
EVIDENCE_ISSUER_NAME = env_str("ERASURE_ISSUER_NAME", "Erasure platform (demo controller)")

if PRODUCTION or env_str("EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST", required=PRODUCTION)
    EMAIL_PORT = env_int("EMAIL_PORT", 587)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
else:
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("ERASURE_EMAIL_FROM", "privacy@erasure.invalid")
ERASURE_EMAIL_DOMAIN = DEFAULT_FROM_EMAIL.rpartition("@")[2] or "erasure.invalid"  # right side of Message-IDs
# Only workers talk to SMTP (owner e-mails go through the outbox); a hung server fails the
# attempt after this many seconds and the event's task retries it.
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20)

# Shared by every web process (throttle counts): Redis when ERASURE_CACHE_URL names it (use a
# database number of its own: tests and operators may clear it), else a table in the database.
CACHE_URL = env_str("ERASURE_CACHE_URL")
if CACHE_URL and not CACHE_URL.startswith(("redis://", "rediss://")):
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(f"ERASURE_CACHE_URL={CACHE_URL!r}: use redis://host:port/db")
CACHES = {
    "default": {"BACKEND": "erasure_platform.core.cache.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    # The table is made by migrations/portal/0001_cache_table (or `manage.py createcachetable`).
    else {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "erasure_cache"}
}
# Proxies in front of the web processes that append to X-Forwarded-For (nginx: 1). Throttles key
# on the address the outermost trusted proxy saw; 0 means clients connect directly.
ERASURE_TRUSTED_PROXIES = env_int("ERASURE_TRUSTED_PROXIES", 0)

# Hostile bodies: JSON larger or deeper than this answers 400 before json.loads runs.
ERASURE_JSON_MAX_BYTES = env_int("ERASURE_JSON_MAX_BYTES", 2 * 1024 * 1024)
ERASURE_JSON_MAX_DEPTH = env_int("ERASURE_JSON_MAX_DEPTH", 32)

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes missing credentials a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # JSON only: form bodies read an empty field as absent (HTML rules), so "purpose=" silently
    # meant the default; an API refuses what it did not understand (415 for other media types).
    "DEFAULT_PARSER_CLASSES": ["erasure_platform.core.api.parsers.BoundedJSONParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "NUM_PROXIES": ERASURE_TRUSTED_PROXIES,
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "erasure_platform.core.api.errors.api_exception_handler",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 50,
}
# Anonymous owner endpoints (API and portal forms), per client address, counted in the shared
# cache ("off" disables a throttle, e.g. for load tests).
ERASURE_INTAKE_THROTTLE_RATE = env_str("ERASURE_INTAKE_THROTTLE_RATE", "30/minute")
ERASURE_VERIFY_THROTTLE_RATE = env_str("ERASURE_VERIFY_THROTTLE_RATE", "30/minute")
ERASURE_INTAKE_THROTTLE_RATE, ERASURE_VERIFY_THROTTLE_RATE = (
    None if rate == "off" else rate for rate in (ERASURE_INTAKE_THROTTLE_RATE, ERASURE_VERIFY_THROTTLE_RATE)
)

SPECTACULAR_SETTINGS = {
    "TITLE": "Erasure platform API",
    "DESCRIPTION": "Data-deletion requests, review, unlearning jobs and release approval.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "erasure_platform.core.api.schema.document_unsupported_media_type",
        "erasure_platform.core.api.schema.document_body_and_availability_errors",
        "erasure_platform.core.api.schema.document_authentication",
        "erasure_platform.core.api.schema.declare_owner_links",
    ],
    # Request bodies get their own components, where fields that refuse "" state minLength: 1.
    "COMPONENT_SPLIT_REQUEST": True,
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("ERASURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("ERASURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ERASURE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
