"""The fixed-window counters (callback quota and failure throttles) on a real Redis."""

from __future__ import annotations

from typing import Any
from unittest import mock

from django.core.cache import caches
from django.test import override_settings

from alarmhub.security import hit, window_key
from tests.support.services import RedisServer


def _redis_cache(server: RedisServer) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "alarmhub.cache.FailOpenRedisCache", "LOCATION": server.url},
        "callback_auth": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    }


def test_a_window_counter_counts_in_one_round_trip_and_expires_with_its_window(
    redis_server: RedisServer,
) -> None:
    with override_settings(CACHES=_redis_cache(redis_server)):
        cache = caches["default"]
        client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
        key = window_key("test-scope", "203.0.113.9", 60)
        cache.delete(key)
        sent: list[Any] = []
        real_execute = type(client.pipeline()).execute

        def counting(pipe: Any, *args: Any, **kwargs: Any) -> Any:
            sent.append([c[0][0] for c in pipe.command_stack])
            return real_execute(pipe, *args, **kwargs)

        with mock.patch.object(type(client.pipeline()), "execute", counting):
            counts = [
                hit("default", "test-scope", "203.0.113.9", window_seconds=60) for _ in range(3)
            ]

        assert counts == [1, 2, 3]
        assert sent == [["SET", "INCRBY"]] * 3  # one pipelined round trip per count
        assert cache.get(key) == 3  # the throttles read it back through the cache API
        assert 0 < client.ttl(cache.make_and_validate_key(key)) <= 61  # set once, never extended
        cache.delete(key)
