"""alarmhub/broker.py: a channel publishes with one Redis client per connection pool."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from alarmhub.broker import Channel


def _channel() -> Any:
    fake = SimpleNamespace(pool=object(), _publish_client=None, built=0)

    def create_client() -> Any:
        fake.built += 1
        return SimpleNamespace(connection_pool=fake.pool)

    fake._create_client = create_client
    return fake


def _publish_client(channel: Any, client: Any = None) -> Any:
    with Channel.conn_or_acquire(channel, client) as used:
        return used


def test_publishes_reuse_the_channels_client() -> None:
    channel = _channel()

    assert _publish_client(channel) is _publish_client(channel)
    assert channel.built == 1


def test_a_new_pool_gets_a_new_client() -> None:
    # Closing a channel (or a reconnect) drops its pool: no client may outlive it.
    channel = _channel()
    first = _publish_client(channel)
    channel.pool = object()

    second = _publish_client(channel)

    assert second is not first and second.connection_pool is channel.pool


def test_a_callers_client_is_used_as_given() -> None:
    channel = _channel()
    given = object()

    assert _publish_client(channel, given) is given
    assert channel.built == 0
