"""Slow clients for load tests: connections that trickle their requests (loopback only)."""

from __future__ import annotations

import socket
import ssl
import threading
import time


class SlowClients:
    """``count`` connections kept open by one thread, each sending a byte of its request every
    ``interval`` seconds: half trickle headers, half a body to ``body_path``. A connection the
    server closes is opened again (and counted), so the server faces ``count`` of them all the
    time. ``tls`` wraps each in TLS without verification (a test proxy's self-signed cert).
    Stops by itself after ``max_seconds``."""

    def __init__(
        self,
        port: int,
        body_path: str,
        count: int,
        *,
        interval: float = 0.5,
        max_seconds: float = 60,
        tls: bool = False,
    ) -> None:
        self.port, self.body_path, self.count = port, body_path, count
        self.interval, self.max_seconds = interval, max_seconds
        self.context: ssl.SSLContext | None = None
        if tls:
            self.context = ssl.create_default_context()
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE
        self.stopping = threading.Event()
        self.reconnects = 0
        self.thread = threading.Thread(target=self._run, daemon=True, name="slow-clients")

    def _open(self, slot: int) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_hostname="127.0.0.1")
        if slot % 2:
            head = f"POST {self.body_path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            sock.sendall((head + "Content-Length: 100000\r\n\r\n{").encode())
        else:
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        return sock

    def _run(self) -> None:
        sockets = {slot: self._open(slot) for slot in range(self.count)}
        deadline = time.monotonic() + self.max_seconds
        try:
            while not self.stopping.wait(self.interval) and time.monotonic() < deadline:
                for slot, sock in list(sockets.items()):
                    try:  # one more header line, or one more body byte
                        sock.sendall(b"X-a: b\r\n" if slot % 2 == 0 else b" ")
                    except OSError:
                        sock.close()
                        self.reconnects += 1
                        sockets[slot] = self._open(slot)
        finally:
            for sock in sockets.values():
                sock.close()

    def __enter__(self) -> SlowClients:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopping.set()
        self.thread.join(timeout=15)
