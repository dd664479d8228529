"""The Redis broker transport, with one kombu crash worked around (issue 15).

kombu 5.7.0 (the newest release): when Redis dies while the worker's event loop has a BRPOP
outstanding, the first close of the task channel fails in the BRPOP read, before the channel is
marked closed; the transport is then detached from its connection (``transport.client = None``)
and Celery's second ``connection.close()`` closes that channel again. Its QoS then tries to
restore the unacknowledged (acks_late) messages through a new pool built from
``transport.client`` and raises ``AttributeError: 'NoneType' object has no attribute
'hostname'`` — not a connection error, so it escapes Celery's reconnect logic and the worker
exits ("Unrecoverable error").

Nothing can be restored at that point (the broker is gone), so the QoS below skips the restore
when its transport is already detached. If Redis survived, the messages stay in its unacked
index and kombu's visibility timeout brings them back; AlarmHub's sweep re-queues the
deliveries sooner anyway (processing is idempotent).

The channel also keeps the ``redis.Redis`` client it publishes with: kombu builds a new one per
message (about a quarter of a publish's CPU, issue 16). The client holds no connection itself,
only the channel's pool, and is rebuilt whenever the channel's pool is replaced.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from kombu.transport import redis

logger = logging.getLogger(__name__)


class QoS(redis.QoS):
    def restore_unacked(self, client: Any = None) -> Any:
        transport = self.channel.connection
        if client is None and (transport is None or transport.client is None):
            logger.warning(
                "broker connection already closed: %d unacknowledged message(s) left to the "
                "visibility timeout and the stranded-delivery sweep",
                len(self._delivered),
            )
            self._delivered.clear()
            return None
        return super().restore_unacked(client)


class Channel(redis.Channel):
    QoS = QoS
    _publish_client: Any = None

    @contextmanager
    def conn_or_acquire(self, client: Any = None) -> Iterator[Any]:
        if client:
            yield client
            return
        # Connections come from (and go back to) the pool per command, as with kombu's fresh
        # client; a Redis restart breaks pooled connections, which redis-py replaces. Closing the
        # channel drops its pool (_disconnect_pools), and with it this client.
        pool = self.pool
        cached = self._publish_client
        if cached is None or cached.connection_pool is not pool:
            cached = self._publish_client = self._create_client()
        yield cached


class Transport(redis.Transport):
    """``CELERY_BROKER_TRANSPORT = "alarmhub.broker:Transport"``; URLs stay ``redis://``."""

    Channel = Channel
