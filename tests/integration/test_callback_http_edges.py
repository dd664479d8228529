"""HTTP details a real server shows and the test client cannot: chunked bodies, bare paths,
broken framing, slow clients against the shipped gunicorn config (deploy/gunicorn.conf.py)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator

import pytest
import requests

from tests.integration.conftest import (
    EndpointPool,
    delivery_statuses,
    tencent_metric_body,
    wait_deliveries_settled,
)
from tests.support.services import CeleryWorker, PostgresServer, WebServer, psql
from tests.support.slow_clients import SlowClients


def _body(session: str) -> bytes:
    return tencent_metric_body(
        policy_id="policy-edges",
        instance_id=f"ins-{session}",
        first_occur="2024-05-01 10:00:00",
        session_id=session,
    )


def test_chunked_callback_is_stored_not_mistaken_for_url_verification(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    path, endpoint = endpoint_pool.take()
    body = _body("chunked0000000000000001")

    def chunks() -> Iterator[bytes]:  # a generator body makes requests send it chunked
        yield body[:100]
        yield body[100:]

    response = requests.post(callback_web.base_url + path, data=chunks(), timeout=10)

    assert response.json() == {"sessionId": "chunked0000000000000001", "retCode": 0}
    wait_deliveries_settled(callback_env["DATABASE_URL"], endpoint, 1)
    assert delivery_statuses(callback_env["DATABASE_URL"], endpoint) == {"processed": 1}


def test_callback_url_without_trailing_slash_is_stored_not_redirected(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    path, endpoint = endpoint_pool.take()
    response = requests.post(
        callback_web.base_url + path.rstrip("/"),
        data=_body("noslash00000000000000001"),
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 200
    assert response.json()["retCode"] == 0
    wait_deliveries_settled(callback_env["DATABASE_URL"], endpoint, 1)


def _raw_exchange(port: int, request: bytes, timeout: float = 10.0) -> bytes:
    """Send bytes no HTTP library would send; read until the server closes."""
    received = []
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        while data := sock.recv(65536):
            received.append(data)
    return b"".join(received)


def _body_of(response: bytes) -> bytes:
    """The body of a raw HTTP/1.1 response, chunked or not."""
    head, _, body = response.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    out = b""
    while True:
        size, _, body = body.partition(b"\r\n")
        if int(size, 16) == 0:
            return out
        out, body = out + body[: int(size, 16)], body[int(size, 16) + 2 :]


def test_malformed_chunk_size_gets_400_from_gunicorn_not_500(
    callback_env: dict[str, str], callback_web: WebServer, endpoint_pool: EndpointPool
) -> None:
    # The request from issue 14 (finding 3): `zz` where a hex chunk size belongs.
    path, endpoint = endpoint_pool.take()
    request = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        "Connection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"
    ).encode()

    response = _raw_exchange(callback_web.port, request)

    assert response.split(b"\r\n")[0] == b"HTTP/1.1 400 Bad Request", response
    assert json.loads(_body_of(response)) == {
        "retCode": 1,
        "error": "malformed or truncated request body",
    }
    assert delivery_statuses(callback_env["DATABASE_URL"], endpoint) == {}


def test_free_text_search_has_trigram_indexes_on_postgresql(postgres: PostgresServer) -> None:
    rows = psql(postgres.url, "SELECT indexname FROM pg_indexes WHERE indexname LIKE '%%_trgm'")
    assert {name for (name,) in rows} == {
        "alarms_alarm_metric_name_trgm",
        "alarms_alarm_search_text_trgm",
        "alarms_alarm_event_name_trgm",
        "alarms_policy_name_trgm",
        "alarms_policy_policy_id_trgm",
        "alarms_instance_instance_id_trgm",
        "alarms_instance_name_trgm",
    }


# --- slow clients against deploy/gunicorn.conf.py (issue 14, finding 1) ------------------------

SLOW_CLIENTS = 50
CALLBACKS = 60


@pytest.fixture
def configured_web(shipped_web: Callable[..., WebServer]) -> WebServer:
    """gunicorn started the documented way, ``-c deploy/gunicorn.conf.py`` (2 gevent workers)."""
    return shipped_web(workers=2)


def test_fifty_slow_clients_do_not_delay_real_callbacks(
    callback_env: dict[str, str], configured_web: WebServer, endpoint_pool: EndpointPool
) -> None:
    # Under the sync worker (ALARMHUB_WORKER_CLASS=sync) the callbacks time out behind these.
    path, endpoint = endpoint_pool.take()
    slow_path, _ = endpoint_pool.take()
    latencies: list[float] = []

    with SlowClients(configured_web.port, slow_path, SLOW_CLIENTS) as slow:
        time.sleep(1.5)  # every slow connection is open and mid-request
        with requests.Session() as session:
            for i in range(CALLBACKS):
                started = time.monotonic()
                response = session.post(
                    configured_web.base_url + path, data=_body(f"slow{i:020d}"), timeout=5
                )
                latencies.append(time.monotonic() - started)
                assert response.status_code == 200, response.text
                time.sleep(0.05)
        still_open = slow.thread.is_alive()

    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    assert still_open
    assert p99 < 1.0, f"p99 {p99:.3f}s; slowest {latencies[-3:]}"
    # Every answer was a stored delivery (a session worker may already have processed some).
    assert sum(delivery_statuses(callback_env["DATABASE_URL"], endpoint).values()) == CALLBACKS
    # The access log names the callback by its hint only (finding 2).
    log = configured_web.log_text()
    token = path.rstrip("/").rsplit("/", 1)[1]
    assert f"/callbacks/{token[:6]}…/" in log
    assert token not in log


def test_the_shipped_configs_pooled_connections_survive_a_postgres_restart(
    callback_env: dict[str, str],
    configured_web: WebServer,
    postgres: PostgresServer,
    endpoint_pool: EndpointPool,
) -> None:
    # deploy/gunicorn.conf.py gives each gevent worker a psycopg pool (DATABASE_POOL_SIZE=16):
    # the connections it holds die with the server, and the pool must replace them unseen.
    path, endpoint = endpoint_pool.take()
    with requests.Session() as session:

        def post(n: int) -> int:
            url = configured_web.base_url + path
            return session.post(url, data=_body(f"pool{n:020d}"), timeout=10).status_code

        assert [post(n) for n in range(8)] == [200] * 8
        postgres.restart()
        assert [post(n) for n in range(8, 16)] == [200] * 8
    assert sum(delivery_statuses(callback_env["DATABASE_URL"], endpoint).values()) == 16
