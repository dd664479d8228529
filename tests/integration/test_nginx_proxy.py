"""The shipped reverse-proxy example, deploy/nginx/alarmhub.conf, in front of gunicorn (issue 14,
finding 1): callbacks stored through it, tokens kept out of its logs, slow clients held by nginx.

The file is used as shipped; only the addresses, certificate and log paths are swapped for the
test's (each swap must find its text, so a reshaped file fails here instead of going untested).
nginx runs as a child process (``daemon off``) on free 127.0.0.1 ports with a self-signed
certificate; a systemd-managed nginx on the machine is never touched.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import subprocess
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from urllib3.exceptions import InsecureRequestWarning

from tests.integration.conftest import EndpointPool, delivery_statuses, tencent_metric_body
from tests.support.services import (
    PostgresServer,
    RedisServer,
    ServiceError,
    WebServer,
    free_port,
    psql,
    wait_until,
)
from tests.support.slow_clients import SlowClients

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
NGINX_CONF = DEPLOY / "nginx" / "alarmhub.conf"
GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
SLOW_CLIENTS = 30
CALLBACKS = 80


def _body(session: str) -> bytes:
    return tencent_metric_body(
        policy_id="policy-nginx",
        instance_id=f"ins-{session}",
        first_occur="2024-05-01 10:00:00",
        session_id=session,
    )


class Nginx:
    """nginx in the foreground with a generated main config that includes the shipped file."""

    def __init__(self, upstream_port: int, root: Path) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(binary, os.X_OK):
            raise ServiceError("nginx was not found: install it with `apt-get install nginx`")
        self.binary, self.root = binary, root
        self.https_port, self.http_port = free_port(), free_port()
        self.logs = root / "logs"
        self.static = root / "static"
        for folder in (self.logs, self.static, root / "temp"):
            folder.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = root / "cert.pem", root / "key.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", "/CN=127.0.0.1", "-keyout", str(self.key), "-out", str(self.cert)],
            check=True, capture_output=True, timeout=60,
        )  # fmt: skip
        site = NGINX_CONF.read_text()
        swaps = {
            "listen 443 ssl;": f"listen 127.0.0.1:{self.https_port} ssl;",
            "listen 80;": f"listen 127.0.0.1:{self.http_port};",
            "listen [::]:443 ssl;": "",  # 127.0.0.1 only
            "listen [::]:80;": "",
            "server 127.0.0.1:8000;": f"server 127.0.0.1:{upstream_port};",
            "/etc/ssl/alarmhub/fullchain.pem": str(self.cert),
            "/etc/ssl/alarmhub/privkey.pem": str(self.key),
            "/opt/alarmhub/staticfiles/": f"{self.static}/",
            "/var/log/nginx/": f"{self.logs}/",
        }
        for old, new in swaps.items():
            assert old in site, f"{NGINX_CONF} no longer has {old!r}: update this test"
            site = site.replace(old, new)
        (root / "alarmhub.conf").write_text(site)
        temp = root / "temp"
        # Root's workers would run as "nobody", which cannot enter pytest's 0700 folders.
        user = "user root root;\n" if os.geteuid() == 0 else ""
        (root / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {root}/nginx.pid;\n"
            f"error_log {self.logs}/main.error.log warn;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            "    include /etc/nginx/mime.types;\n"
            f"    access_log {self.logs}/main.access.log;\n"
            + "".join(
                f"    {kind}_temp_path {temp}/{kind};\n"
                for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
            )
            + f"    include {root}/alarmhub.conf;\n"
            "}\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def command(self, *args: str) -> list[str]:
        return [self.binary, "-p", str(self.root), "-c", str(self.root / "nginx.conf"), *args]

    def start(self) -> None:
        test = subprocess.run(self.command("-t"), capture_output=True, text=True, timeout=30)
        assert test.returncode == 0, test.stderr
        output = (self.root / "nginx.out").open("ab")
        self.process = subprocess.Popen(
            self.command(), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        output.close()

        def listening() -> bool:
            assert self.process is not None and self.process.poll() is None, self.log_text()
            with socket.socket() as sock:
                sock.settimeout(0.5)
                return sock.connect_ex(("127.0.0.1", self.https_port)) == 0

        wait_until(listening, 15, 0.1, message="nginx to listen")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, 9)
                self.process.wait(10)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))


@pytest.fixture
def proxied_web(
    callback_env: dict[str, str],
    postgres: PostgresServer,
    redis_server: RedisServer,
    integration_log_dir: Path,
) -> Iterator[WebServer]:
    """gunicorn with the shipped config and *sync* workers, trusting the proxy on 127.0.0.1:
    the shape SECURITY.md calls safe only behind a buffering proxy."""
    env = {
        **callback_env,
        "ALARMHUB_WORKER_CLASS": "sync",
        "DJANGO_TRUSTED_PROXY": "127.0.0.1",
        # Only X-Forwarded-Proto from nginx keeps a callback from being redirected to https.
        "DJANGO_SECURE_SSL_REDIRECT": "True",
    }
    server = WebServer(
        env,
        workers=2,
        log_dir=integration_log_dir / "proxied-web",
        extra_args=["-c", str(GUNICORN_CONF)],
    )
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def nginx(proxied_web: WebServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Nginx]:
    proxy = Nginx(proxied_web.port, tmp_path_factory.mktemp("nginx"))
    try:
        proxy.start()
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture
def https() -> Iterator[requests.Session]:
    """A client that accepts the test's self-signed certificate."""
    with warnings.catch_warnings(), requests.Session() as session:
        warnings.simplefilter("ignore", InsecureRequestWarning)
        session.verify = False
        # REQUESTS_CA_BUNDLE (or a proxy variable) from the environment would win over verify.
        session.trust_env = False
        yield session


def test_callbacks_through_the_shipped_nginx_config(
    callback_env: dict[str, str],
    proxied_web: WebServer,
    nginx: Nginx,
    https: requests.Session,
    endpoint_pool: EndpointPool,
) -> None:
    db = callback_env["DATABASE_URL"]
    path, endpoint = endpoint_pool.take()
    token = path.rstrip("/").rsplit("/", 1)[1]

    # A real callback, with a forged X-Forwarded-For that nginx must overwrite.
    answer = https.post(
        nginx.base_url + path,
        data=_body(uuid.uuid4().hex[:24]),
        headers={"X-Forwarded-For": "203.0.113.9"},
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["retCode"] == 0
    assert sum(delivery_statuses(db, endpoint).values()) == 1
    stored = psql(
        db, "SELECT host(remote_addr) FROM alarms_delivery WHERE endpoint_id = %s", endpoint
    )
    assert stored == [("127.0.0.1",)]

    # Plain HTTP is only a redirect; a body over 1 MiB is nginx's 413, never gunicorn's problem.
    plain = https.get(f"http://127.0.0.1:{nginx.http_port}{path}", allow_redirects=False)
    assert plain.status_code == 301
    assert https.post(nginx.base_url + path, data=b"{" + b" " * (1 << 20) + b"}").status_code == 413
    assert sum(delivery_statuses(db, endpoint).values()) == 1

    # Static files come from STATIC_ROOT through nginx, not from the application.
    (nginx.static / "probe.css").write_text("body{}")
    static = https.get(nginx.base_url + "/static/probe.css", timeout=5)
    assert (static.status_code, static.text) == (200, "body{}")

    # Tokens: the hint in nginx's access log, the token nowhere in its logs (or gunicorn's).
    log = nginx.log_text()
    assert f"/api/v1/callbacks/{token[:6]}.../" in log
    assert token not in log
    assert token not in proxied_web.log_text()
    assert "/static/probe.css" not in proxied_web.log_text()


def test_thirty_slow_clients_at_nginx_do_not_delay_real_callbacks(
    callback_env: dict[str, str],
    proxied_web: WebServer,
    nginx: Nginx,
    https: requests.Session,
    endpoint_pool: EndpointPool,
) -> None:
    """Two *sync* gunicorn workers behind nginx: alone, two slow clients would stall them."""
    path, endpoint = endpoint_pool.take()
    slow_path, _ = endpoint_pool.take()
    latencies: list[float] = []

    with SlowClients(nginx.https_port, slow_path, SLOW_CLIENTS, max_seconds=90, tls=True) as slow:
        time.sleep(1.5)  # every slow connection is open and mid-request
        for i in range(CALLBACKS):
            started = time.monotonic()
            response = https.post(nginx.base_url + path, data=_body(f"ngx{i:021d}"), timeout=5)
            latencies.append(time.monotonic() - started)
            assert response.status_code == 200, response.text
            time.sleep(0.05)
        still_open = slow.thread.is_alive()
        reconnects = slow.reconnects

    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    print(
        f"\nnginx + {SLOW_CLIENTS} slow clients: {CALLBACKS} callbacks, p50 "
        f"{latencies[len(latencies) // 2] * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max "
        f"{latencies[-1] * 1000:.0f} ms; slow connections cut and reopened: {reconnects}"
    )
    assert still_open
    assert p99 < 1.0, f"p99 {p99:.3f}s; slowest {latencies[-3:]}"
    # client_header_timeout 5s: the header tricklers were cut while the callbacks ran.
    assert reconnects > 0
    assert sum(delivery_statuses(callback_env["DATABASE_URL"], endpoint).values()) == CALLBACKS
    # Nothing about the slow callback URL leaked into the logs either (timeouts, 408s).
    slow_token = slow_path.rstrip("/").rsplit("/", 1)[1]
    assert slow_token not in nginx.log_text()
    assert hashlib.sha256(slow_token.encode()).hexdigest() not in nginx.log_text()
