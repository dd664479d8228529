"""A pooled connection is checked out without a round trip, and a dead one is still caught
(alarmhub.postgresql, issue 16). ``pg_stat_activity.query`` is the last statement a backend
received: psycopg_pool's own check would overwrite it with an empty query."""

from __future__ import annotations

import psycopg
import pytest

from alarmhub.postgresql.base import check_idle_connection
from tests.support.services import PostgresServer, psql, wait_until


def _last_statement(url: str, pid: int) -> str:
    return psql(url, "SELECT query FROM pg_stat_activity WHERE pid = %s", pid)[0][0]


def test_a_healthy_idle_connection_is_checked_without_a_statement(
    postgres: PostgresServer,
) -> None:
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        conn.execute("SELECT 42")
        check_idle_connection(conn)

        assert _last_statement(postgres.url, conn.info.backend_pid) == "SELECT 42"


def test_a_connection_the_server_terminated_fails_the_check(postgres: PostgresServer) -> None:
    with psycopg.connect(postgres.url, autocommit=True) as conn:
        pid = conn.info.backend_pid
        psql(postgres.url, "SELECT pg_terminate_backend(%s)", pid)
        wait_until(
            lambda: not psql(postgres.url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", pid),
            10,
            0.05,
            message="backend gone",
        )

        with pytest.raises(psycopg.OperationalError):
            check_idle_connection(conn)


def test_a_closed_connection_fails_the_check(postgres: PostgresServer) -> None:
    conn = psycopg.connect(postgres.url, autocommit=True)
    conn.close()

    with pytest.raises(psycopg.OperationalError):
        check_idle_connection(conn)
