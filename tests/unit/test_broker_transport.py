"""alarmhub/broker.py: the Redis transport's QoS survives a close after the broker crashed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any
from unittest import mock

from alarmhub.broker import QoS, Transport


def _qos(transport: Any) -> QoS:
    qos = QoS(SimpleNamespace(connection=transport, do_restore=True))
    qos._on_collect.cancel()  # no restore at interpreter exit: these channels are fakes
    qos._delivered["tag-1"] = object()
    return qos


def test_restore_is_skipped_once_the_transport_is_detached_from_its_connection() -> None:
    # kombu's own QoS builds a connection pool from transport.client here: AttributeError.
    qos = _qos(SimpleNamespace(client=None))

    assert qos.restore_unacked() is None
    assert not qos._delivered


def test_restore_still_goes_to_redis_while_the_connection_is_attached() -> None:
    qos = _qos(SimpleNamespace(client=object()))
    with mock.patch("kombu.transport.redis.QoS.restore_unacked") as restore:
        qos.restore_unacked()
    restore.assert_called_once_with(None)


def test_the_transport_uses_that_qos() -> None:
    assert Transport.Channel.QoS is QoS
