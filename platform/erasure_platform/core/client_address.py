"""The client's address, as seen by the first of a configured number of trusted proxies.

Each trusted proxy appends the address it received the connection from to X-Forwarded-For, so
with N trusted proxies the client is the N-th entry from the right; entries further left were
written by the client and can be anything (rotating them must not make a new client)."""

from __future__ import annotations

from django.conf import settings


def client_address(request) -> str:
    remote = request.META.get("REMOTE_ADDR", "")
    trusted = settings.ERASURE_TRUSTED_PROXIES
    if trusted <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if not forwarded:
        return remote
    return forwarded[-min(trusted, len(forwarded))]
