"""The platform's object store, configured from settings (one instance per process)."""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings

from erasure_platform.core.engine import ObjectStore, object_store_from_url


@lru_cache(maxsize=1)
def platform_object_store() -> ObjectStore:
    return object_store_from_url(settings.OBJECT_STORE_URL, endpoint_url=settings.OBJECT_STORE_ENDPOINT_URL)
