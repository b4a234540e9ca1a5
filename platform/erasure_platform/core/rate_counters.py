"""Counters that many web processes add to at once without losing a count: Redis INCRBY (with its
expiry, in one MULTI) when the shared cache is Redis, else one upsert on the database
(`INSERT … ON CONFLICT DO UPDATE … RETURNING`, atomic in PostgreSQL and SQLite alike). The
throttles count with these; reading a history and writing it back (DRF's throttle) lets
concurrent requests through."""

from __future__ import annotations

from datetime import timedelta

from django.core.cache import caches
from django.db import connection
from django.utils import timezone

from erasure_platform.core.cache import RedisCache
from erasure_platform.core.models import RateCounter

_UPSERT = (
    "INSERT INTO {table} ({key}, {count}, {expires}) VALUES (%s, %s, %s) "
    "ON CONFLICT ({key}) DO UPDATE SET {count} = {table}.{count} + excluded.{count}, {expires} = excluded.{expires} "
    "RETURNING {count}"
)


def _redis():
    backend = caches["default"]
    return backend if isinstance(backend, RedisCache) else None


def counter_add(key: str, delta: int, *, ttl_seconds: int) -> int:
    """Add `delta` to the counter `key` (kept ttl_seconds after its last change); its new value."""
    redis = _redis()
    if redis is not None:
        redis_key = redis.make_and_validate_key(key)
        client = redis._cache.get_client(redis_key, write=True)
        with client.pipeline(transaction=True) as pipe:
            pipe.incrby(redis_key, delta)
            pipe.expire(redis_key, ttl_seconds)
            value, _ = pipe.execute()
        return int(value)
    now = timezone.now()
    quote = connection.ops.quote_name
    statement = _UPSERT.format(
        table=quote(RateCounter._meta.db_table), key=quote("key"), count=quote("count"), expires=quote("expires_at")
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [key, delta, now + timedelta(seconds=ttl_seconds)])
        value = cursor.fetchone()[0]
    if value == delta:  # the window's first request from this client: clear windows long past
        RateCounter.objects.filter(expires_at__lt=now).delete()
    return int(value)


def counter_get(key: str) -> int:
    redis = _redis()
    if redis is not None:
        redis_key = redis.make_and_validate_key(key)
        value = redis._cache.get_client(redis_key).get(redis_key)
        return int(value or 0)
    row = RateCounter.objects.filter(key=key, expires_at__gte=timezone.now()).values_list("count", flat=True).first()
    return int(row or 0)
