#!/bin/sh
# Roles of the one image. Every setting comes from the environment (ERASURE_MODE=production:
# see platform/erasure_platform/settings.py); the knobs below are process sizes only.
#
#   web          gunicorn (gthread) erasure_platform.wsgi:application on :${PORT:-8000}
#   worker-cpu   celery worker consuming queue "default"           (WORKER_CONCURRENCY, default 2)
#   worker-gpu   celery worker consuming queue "gpu", one job at a time (one per GPU)
#   dispatcher   manage.py run_dispatcher: outbox relay + job reaper
#   migrate      manage.py migrate (run once per release, before the new pods start)
#   wait-for-migrations  block until the database schema matches this image (k8s init container)
#   healthcheck  GET /api/health on the local web process (compose healthcheck)
#   manage ...   any manage.py command, e.g. `manage createsuperuser`, `manage verify_audit_chain`
#   anything else is executed as given.
set -eu

celery_worker() {
    queue="$1"
    shift
    # -n <queue>@<host>: unique per container/pod. No gossip/mingle: workers never need to
    # know each other (state lives in PostgreSQL), and it keeps the broker chatter down.
    exec python -m celery -A workers.celery_app worker \
        -Q "$queue" -n "$queue@%h" --pool prefork \
        --loglevel "${CELERY_LOG_LEVEL:-INFO}" --without-gossip --without-mingle "$@"
}

role="${1:-web}"
[ "$#" -gt 0 ] && shift

case "$role" in
    web)
        # Behind a TLS-terminating proxy / ingress: it sets X-Forwarded-Proto, which Django
        # trusts (SECURE_PROXY_SSL_HEADER); the port is never published to the internet directly.
        # gthread: each process serves WEB_THREADS requests at once (requests wait on the
        # database, not the CPU); a buffering proxy in front keeps slow clients off the threads.
        exec python -m gunicorn erasure_platform.wsgi:application \
            --bind "0.0.0.0:${PORT:-8000}" \
            --worker-class gthread \
            --workers "${WEB_CONCURRENCY:-2}" \
            --threads "${WEB_THREADS:-8}" \
            --keep-alive 30 \
            --limit-request-line 8190 \
            --timeout "${GUNICORN_TIMEOUT:-60}" \
            --graceful-timeout 25 \
            --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
            --worker-tmp-dir /dev/shm \
            --access-logfile - "$@"
        ;;
    worker-cpu)
        celery_worker default --concurrency "${WORKER_CONCURRENCY:-2}" "$@"
        ;;
    worker-gpu)
        # One job per GPU. The parent never imports torch (no CUDA before fork); a fresh child
        # per task hands all GPU memory back between jobs (a child costs seconds, a job minutes).
        celery_worker gpu --concurrency 1 --max-tasks-per-child 1 "$@"
        ;;
    dispatcher)
        exec python manage.py run_dispatcher "$@"
        ;;
    migrate)
        exec python manage.py migrate --noinput "$@"
        ;;
    wait-for-migrations)
        # `migrate --check` fails while migrations of this image are unapplied: new pods of a
        # release wait here for the migrate job instead of running against an old schema.
        until python manage.py migrate --check --noinput; do
            echo "waiting for the migrate job to bring the schema up to date..."
            sleep 5
        done
        ;;
    healthcheck)
        exec python - "$@" <<'PY'
import os, sys, urllib.request
hosts = [h.strip() for h in os.environ.get("ERASURE_ALLOWED_HOSTS", "").split(",") if h.strip()]
host = next((h.lstrip(".") for h in hosts if h != "*"), "localhost")
request = urllib.request.Request(
    f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/api/health",
    # An allowed Host and the proxy's https marker: no DisallowedHost, no SSL redirect.
    headers={"Host": host, "X-Forwarded-Proto": "https"},
)
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        sys.exit(0 if response.status == 200 else 1)
except Exception as error:
    print(f"health check failed: {error}", file=sys.stderr)
    sys.exit(1)
PY
        ;;
    manage)
        exec python manage.py "$@"
        ;;
    *)
        exec "$role" "$@"
        ;;
esac
