"""Django's Redis cache, failing open: a Redis outage must not turn callbacks into 500s.

The cache holds only what can be recomputed (endpoint look-ups, throttle counters, verified
Basic-auth headers), so while Redis is down a read is a miss and a write is dropped: the
callback keeps storing deliveries (DESIGN §4 allows no 5xx but 503) and throttles open.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

_LOG_EVERY_SECONDS = 30.0
_last_logged = 0.0


def _log_outage(operation: str) -> None:
    # One line per half minute, not one per request, during an outage.
    global _last_logged
    now = time.monotonic()
    if now - _last_logged >= _LOG_EVERY_SECONDS:
        _last_logged = now
        logger.warning("Redis cache unavailable (%s); serving without it", operation, exc_info=True)


class FailOpenRedisCacheClient(RedisCacheClient):
    def get(self, key: Any, default: Any) -> Any:
        try:
            return super().get(key, default)
        except RedisError:
            _log_outage("get")
            return default

    def get_many(self, keys: Any) -> dict[Any, Any]:
        try:
            return super().get_many(keys)
        except RedisError:
            _log_outage("get_many")
            return {}

    def has_key(self, key: Any) -> bool:
        try:
            return super().has_key(key)
        except RedisError:
            _log_outage("has_key")
            return False

    def add(self, key: Any, value: Any, timeout: Any) -> bool:
        try:
            return super().add(key, value, timeout)
        except RedisError:
            _log_outage("add")
            return False

    def set(self, key: Any, value: Any, timeout: Any) -> None:
        try:
            super().set(key, value, timeout)
        except RedisError:
            _log_outage("set")

    def set_many(self, data: Any, timeout: Any) -> None:
        try:
            super().set_many(data, timeout)
        except RedisError:
            _log_outage("set_many")

    def touch(self, key: Any, timeout: Any) -> bool:
        try:
            return super().touch(key, timeout)
        except RedisError:
            _log_outage("touch")
            return False

    def delete(self, key: Any) -> bool:
        try:
            return super().delete(key)
        except RedisError:
            _log_outage("delete")
            return False

    def delete_many(self, keys: Any) -> None:
        try:
            super().delete_many(keys)
        except RedisError:
            _log_outage("delete_many")


class FailOpenRedisCache(RedisCache):
    """``django.core.cache.backends.redis.RedisCache`` whose reads miss and writes drop while
    Redis is unreachable (``incr`` and ``clear`` still raise: their callers handle it)."""

    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = FailOpenRedisCacheClient

    def incr_window(self, key: str, timeout: int) -> int:
        """Count one in a counter that expires ``timeout`` seconds after it was created.

        One round trip (SET NX with the expiry, then INCR, pipelined) where ``add`` + ``incr``
        cost three (``incr`` checks EXISTS first). Raises RedisError: callers decide.
        """
        redis_key = self.make_and_validate_key(key)
        client = self._cache.get_client(redis_key, write=True)  # type: ignore[attr-defined]
        pipe = client.pipeline(transaction=True)
        pipe.set(redis_key, 0, ex=timeout, nx=True)
        pipe.incr(redis_key)
        return int(pipe.execute()[-1])


_LOCMEM = "django.core.cache.backends.locmem.LocMemCache"


def cache_settings(env: Any) -> dict[str, dict[str, Any]]:
    """CACHES from ``CACHE_URL``: Redis (failing open) in production, else local memory.

    "default" holds what processes must agree on (API write throttle, callback failure counters,
    endpoint look-ups). "callback_auth" holds verified Basic-auth headers per process, apart
    from it: only a successful check writes there, so no flood of failures can evict them.
    """
    url = str(env.str("CACHE_URL", default=""))
    try:
        default = env.cache_url("CACHE_URL", default="locmemcache://alarmhub", backend=None)
    except (ImproperlyConfigured, ValueError, KeyError) as exc:
        raise ImproperlyConfigured(f"Environment variable CACHE_URL is invalid: {exc}") from exc
    if url.startswith(("redis", "valkey")):
        default["BACKEND"] = "alarmhub.cache.FailOpenRedisCache"
        # A Redis that does not answer must cost a request a second, not a hang.
        options = default.setdefault("OPTIONS", {})
        options.setdefault("socket_timeout", 1)
        options.setdefault("socket_connect_timeout", 1)
    elif default["BACKEND"] != _LOCMEM:
        raise ImproperlyConfigured("Environment variable CACHE_URL must be a redis:// URL")
    callback_auth = {
        "BACKEND": _LOCMEM,
        "LOCATION": "alarmhub-callback-auth",
        "OPTIONS": {"MAX_ENTRIES": 10_000},
    }
    return {"default": default, "callback_auth": callback_auth}
