"""Django's PostgreSQL backend, with a pool checkout that costs no round trip (issue 16).

Django's connection pool (``OPTIONS["pool"]``, used by the gevent web worker) checks every
connection it hands out with psycopg_pool's ``check_connection``: an empty query, one round trip
per request on top of the callback's one INSERT. A connection the server has closed — a restart,
``pg_terminate_backend``, an idle timeout — has a readable socket (the server's FATAL message,
then EOF), while a healthy idle one has nothing to read. So the check here asks the socket
first and sends the empty query only when something is waiting. A server that vanished without
closing the TCP connection goes unnoticed until the next statement fails, and the pool then
discards that connection (as it would without any check).
"""

from __future__ import annotations

import select
from typing import Any

from django.db.backends.postgresql import base


def check_idle_connection(conn: Any) -> None:
    """Raise if a pooled connection is unusable; a round trip only when its socket is readable."""
    import psycopg
    from psycopg_pool import ConnectionPool

    if conn.closed or conn.broken:
        raise psycopg.OperationalError("the connection is closed")
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError):
        readable = [True]
    if readable:
        ConnectionPool.check_connection(conn)


class DatabaseWrapper(base.DatabaseWrapper):
    @property
    def pool(self) -> Any:
        pool = super().pool  # type: ignore[misc]  # (django-stubs lacks the pool)
        # Django passes ConnectionPool.check_connection when CONN_HEALTH_CHECKS is on, and no
        # way to pass another; the pool calls whatever _check holds at each checkout.
        if pool is not None and pool._check is not None:
            pool._check = check_idle_connection
        return pool
