"""The shared cache backend (throttle counts): Django's Redis cache, one client per process.

Django's RedisCacheClient builds a new redis.Redis for every cache call (and each one fills a table
of ~170 response callbacks); a throttled request makes two calls. A redis.Redis is thread-safe
over its connection pool, so one per pool is kept and reused. Pools stay Django's (one per server,
re-made by redis-py after a fork)."""

from __future__ import annotations

from django.core.cache.backends import redis as django_redis


class ReusedClientRedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients: dict[int, object] = {}

    def get_client(self, key=None, *, write=False):
        index = self._get_connection_pool_index(write)
        client = self._clients.get(index)
        if client is None:
            client = self._clients.setdefault(index, self._client(connection_pool=self._get_connection_pool(write)))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = ReusedClientRedisCacheClient
