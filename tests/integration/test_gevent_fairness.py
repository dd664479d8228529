"""The shipped gevent worker shares itself between connections: a keep-alive client whose
requests are already buffered is not served back to back while another connection waits
(deploy/gunicorn.conf.py; /healthz p99 was 300 ms at 8 connections). Observed through the order
of the access log, never through timings."""

from __future__ import annotations

import socket
from collections.abc import Callable

from tests.support.services import WebServer, wait_until

PIPELINED = 200


def _request(agent: str) -> bytes:
    # The access log names the User-Agent (not the query string): it tells the requests apart.
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: {agent}\r\n\r\n".encode()


def _served(log: str, marker: str) -> list[int]:
    return [n for n, line in enumerate(log.splitlines()) if marker in line]


def test_a_pipelining_client_does_not_starve_another_connection(
    shipped_web: Callable[..., WebServer],
) -> None:
    one_gevent_worker = shipped_web(workers=1, name="fairness-web")
    mark = len(one_gevent_worker.log_text())
    address = ("127.0.0.1", one_gevent_worker.port)
    with socket.create_connection(address) as busy, socket.create_connection(address) as other:
        # Two hundred requests in one write: every one is buffered before the first answer.
        busy.sendall(b"".join(_request(f"busy-{n}") for n in range(PIPELINED)))
        other.sendall(_request("other-1"))
        assert other.recv(65536).startswith(b"HTTP/1.1 200")
        received = b""
        while received.count(b"HTTP/1.1 200") < PIPELINED:
            chunk = busy.recv(1 << 20)
            assert chunk, "the server closed the pipelining connection"
            received += chunk

    def logged() -> bool:
        return len(_served(one_gevent_worker.log_text()[mark:], "busy-")) == PIPELINED

    wait_until(logged, 10, 0.05, message="every request in the access log")
    log = one_gevent_worker.log_text()[mark:]
    busy_lines, other_line = _served(log, "busy-"), _served(log, "other-1")[0]
    # Without yielding between keep-alive requests the other connection waited for all 200.
    assert other_line < busy_lines[PIPELINED // 2], (other_line, busy_lines[:5], busy_lines[-5:])
