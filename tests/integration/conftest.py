"""Fixtures that run AlarmHub the way production does: PostgreSQL, Redis, Celery worker, gunicorn.

These tests share the pytest process with the unit tests, whose in-process Django settings point at
SQLite. So nothing here touches the in-process ORM: the application runs in subprocesses configured
by ``production_env``, and tests observe it through HTTP, ``psql()`` and the service logs.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from alarms.sources.tencent import EXAMPLES_DIR
from tests.support.services import (
    CeleryBeat,
    CeleryWorker,
    PostgresServer,
    RedisServer,
    WebServer,
    manage,
    psql,
    service_env,
    wait_until,
)

__all__ = ["psql", "wait_until"]  # re-exported for tests that prefer importing from here

HERE = Path(__file__).resolve().parent
FIXTURES = EXAMPLES_DIR


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # This hook sees the whole session's items, not only ours: mark just the ones under this folder.
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def integration_log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where worker and web logs go (kept by pytest under its basetemp for post-mortems)."""
    return tmp_path_factory.mktemp("integration-logs")


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throw-away PostgreSQL cluster for the session, already migrated."""
    server = PostgresServer()
    try:
        server.start()
        # Migrate through a subprocess: the in-process settings point at SQLite.
        manage(service_env(database_url=server.url), "migrate", "--noinput", timeout=300)
        yield server
    finally:
        server.close()


@pytest.fixture(scope="session")
def redis_server(integration_log_dir: Path) -> Iterator[RedisServer]:
    """A Redis for the session; a test may stop/start it (same port) to simulate a restart."""
    server = RedisServer(log_dir=integration_log_dir)
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def production_env(postgres: PostgresServer, redis_server: RedisServer) -> dict[str, str]:
    """Environment for subprocesses: PostgreSQL + Redis, tasks through the broker (not eager)."""
    # A previous test may have stopped a service for a fault and failed before restarting it.
    if not redis_server.running:
        redis_server.start()
    if not postgres.running:
        postgres.start()
    return service_env(database_url=postgres.url, broker_url=redis_server.url)


@pytest.fixture
def celery_worker_factory(
    production_env: dict[str, str], integration_log_dir: Path
) -> Iterator[Callable[..., CeleryWorker]]:
    """``factory(name="worker", concurrency=2, env=None, wait=True, **kwargs)`` starts a worker
    (ready unless ``wait=False``: then call ``.wait_ready()``, e.g. to start several at once);
    every worker it made is stopped at the end of the test."""
    workers: list[CeleryWorker] = []

    def factory(
        name: str = "worker",
        concurrency: int = 2,
        env: dict[str, str] | None = None,
        wait: bool = True,
        **kwargs: object,
    ) -> CeleryWorker:
        worker = CeleryWorker(
            env or production_env,
            name=name,
            concurrency=concurrency,
            log_dir=integration_log_dir / f"{name}-{len(workers)}",
            **kwargs,  # type: ignore[arg-type]
        )
        workers.append(worker)
        worker.start(wait=wait)
        return worker

    try:
        yield factory
    finally:
        for worker in reversed(workers):
            worker.close()


@pytest.fixture
def celery_worker(celery_worker_factory: Callable[..., CeleryWorker]) -> CeleryWorker:
    """One started prefork worker (concurrency 2) consuming from ``redis_server``."""
    return celery_worker_factory()


@pytest.fixture
def web_server(production_env: dict[str, str], integration_log_dir: Path) -> Iterator[WebServer]:
    """gunicorn (2 workers) serving the app against PostgreSQL + Redis; ``.base_url``."""
    server = WebServer(production_env, log_dir=integration_log_dir / "web")
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def celery_beat_factory(
    production_env: dict[str, str], integration_log_dir: Path
) -> Iterator[Callable[..., CeleryBeat]]:
    """``factory(env=None, name="beat", wait=True)`` starts ``celery beat`` (with its own
    schedule file); every beat it made is stopped at the end of the test. Pass ``callback_env``
    for a 2 s stranded-delivery sweep."""
    beats: list[CeleryBeat] = []

    def factory(
        env: dict[str, str] | None = None, name: str = "beat", wait: bool = True
    ) -> CeleryBeat:
        beat = CeleryBeat(
            env or production_env, name=name, log_dir=integration_log_dir / f"{name}-{len(beats)}"
        )
        beats.append(beat)
        beat.start(wait=wait)
        return beat

    try:
        yield factory
    finally:
        for beat in reversed(beats):
            beat.close()


# --- the callback pipeline, shared by the session ---------------------------------------------
# Starting a Django process costs seconds on a small CI machine, so the callback fault and
# lifecycle tests share one gunicorn and one worker, and make endpoints in batches.

CALLBACK_SETTINGS = {
    # Fault tests cannot wait the production default (60 s + 60 s) for the stranded sweep.
    "ALARMHUB_REQUEUE_AFTER_SECONDS": "2",
    "ALARMHUB_SWEEP_INTERVAL_SECONDS": "2",
    # Two occurrences within an hour flag flapping, so lifecycle tests exercise that rule too.
    "ALARMHUB_FLAPPING_EPISODES": "2",
}


@pytest.fixture(scope="session")
def callback_env(postgres: PostgresServer, redis_server: RedisServer) -> dict[str, str]:
    """Production-like env (DEBUG off) plus ``CALLBACK_SETTINGS``, for web, workers and beat
    alike. Session-scoped: use it with ``callback_web`` (which makes sure PostgreSQL and Redis
    run), not with ``production_env``."""
    return service_env(
        database_url=postgres.url, broker_url=redis_server.url, debug=False, extra=CALLBACK_SETTINGS
    )


@pytest.fixture(scope="session")
def _session_callback_web(
    callback_env: dict[str, str], integration_log_dir: Path
) -> Iterator[WebServer]:
    # Threads as well as processes, so that concurrent callbacks really race in the database.
    server = WebServer(
        callback_env,
        workers=2,
        log_dir=integration_log_dir / "callback-web",
        extra_args=["--threads", "4"],
    )
    try:
        server.start()
        yield server
    finally:
        server.close()


@pytest.fixture
def callback_web(
    _session_callback_web: WebServer, postgres: PostgresServer, redis_server: RedisServer
) -> WebServer:
    """gunicorn (2 processes x 4 threads, ``callback_env``) shared by the session; PostgreSQL,
    Redis and the server itself are (re)started if an earlier test left them down."""
    if not redis_server.running:
        redis_server.start()
    if not postgres.running:
        postgres.start()
    if not _session_callback_web.running:
        _session_callback_web.start()
    return _session_callback_web


GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"


@pytest.fixture
def shipped_web(
    callback_env: dict[str, str],
    postgres: PostgresServer,
    redis_server: RedisServer,
    integration_log_dir: Path,
) -> Iterator[Callable[..., WebServer]]:
    """Start gunicorn the documented way, ``-c deploy/gunicorn.conf.py`` (gevent workers, a
    psycopg pool each): ``shipped_web(workers=2, name="configured-web")``; stopped afterwards."""
    started: list[WebServer] = []

    def start(*, workers: int = 2, name: str = "configured-web") -> WebServer:
        server = WebServer(
            callback_env,
            workers=workers,
            log_dir=integration_log_dir / name,
            extra_args=["-c", str(GUNICORN_CONF)],
        )
        started.append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in started:
            server.close()


@pytest.fixture(scope="session")
def session_worker(
    callback_env: dict[str, str], integration_log_dir: Path
) -> Iterator[CeleryWorker]:
    """The session's shared worker (concurrency 2, ``callback_env``), *not necessarily running*:
    a test that needs the queue to itself may ``stop()`` it and ``start()`` it again later."""
    worker = CeleryWorker(
        callback_env, name="shared", concurrency=2, log_dir=integration_log_dir / "shared-worker"
    )
    try:
        yield worker
    finally:
        worker.close()


@pytest.fixture
def shared_worker(session_worker: CeleryWorker, callback_web: WebServer) -> CeleryWorker:
    """``session_worker``, started if it is not running."""
    if not session_worker.running:
        session_worker.start()
    return session_worker


CALLBACK_PREFIX = "/api/v1/callbacks/"


class EndpointPool:
    """Callback endpoints made by the ``create_callback_endpoint`` command, a batch per
    ``manage.py`` process (a property test needs two fresh endpoints per example)."""

    def __init__(self, env: dict[str, str], batch: int = 24) -> None:
        self.env = env
        self.batch = batch
        self._free: list[tuple[str, int]] = []

    def take(self) -> tuple[str, int]:
        """A fresh endpoint nobody has posted to: ``(callback path, endpoint id)``."""
        if not self._free:
            self._refill()
        return self._free.pop(0)

    def _refill(self) -> None:
        names = [f"it-{uuid.uuid4().hex[:10]}" for _ in range(self.batch)]
        code = (
            "from django.core.management import call_command\n"
            f"for name in {names!r}:\n"
            "    call_command('create_callback_endpoint', name)\n"
        )
        output = manage(self.env, "shell", "-c", code).stdout
        # Each command prints its path as its last line.
        paths = [line.strip() for line in output.splitlines() if line.startswith(CALLBACK_PREFIX)]
        assert len(paths) == len(names), output
        self._free += [(path, endpoint_id(self.env["DATABASE_URL"], path)) for path in paths]


@pytest.fixture(scope="session")
def endpoint_pool(callback_env: dict[str, str], postgres: PostgresServer) -> EndpointPool:
    return EndpointPool(callback_env)


# --- callbacks over HTTP, observed in PostgreSQL ---------------------------------------------
# Plain helpers (not fixtures) shared by the callback fault and lifecycle tests.

UNSETTLED = ("pending", "processing")


def tencent_metric_body(
    *,
    policy_id: str,
    instance_id: str,
    first_occur: str,
    session_id: str,
    duration: int = 0,
    recover_time: str | None = None,
    value: str = "96.5",
) -> bytes:
    """A Tencent metric callback built from the real disk-usage trigger: ``recover_time`` set
    means a recovery (alarmStatus 0); times are the endpoint's local time, as Tencent sends."""
    payload: dict[str, Any] = json.loads(
        (FIXTURES / "metric_cvm_disk_usage_trigger_repeat_real.json").read_text()
    )
    payload["sessionId"] = session_id
    payload["alarmStatus"] = "0" if recover_time else "1"
    payload["alarmObjInfo"]["dimensions"]["unInstanceId"] = instance_id
    payload["alarmObjInfo"]["dimensions"]["objId"] = f"obj-{instance_id}"
    payload["alarmPolicyInfo"]["policyId"] = policy_id
    payload["alarmPolicyInfo"]["conditions"]["currentValue"] = value
    payload["firstOccurTime"] = first_occur
    payload["durationTime"] = duration
    payload["recoverTime"] = recover_time or "0"
    return json.dumps(payload, ensure_ascii=False, indent=2).encode()


def post_callback(
    web: WebServer, path: str, body: bytes, *, timeout: float = 10.0
) -> requests.Response:
    return requests.post(
        web.base_url + path,
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=timeout,
    )


def endpoint_id(database_url: str, path: str) -> int:
    """The endpoint behind a callback path (only the token's SHA-256 is stored)."""
    token = path.rstrip("/").rsplit("/", 1)[-1]
    rows = psql(
        database_url,
        "SELECT id FROM alarms_callbackendpoint WHERE token_hash = %s",
        hashlib.sha256(token.encode()).hexdigest(),
    )
    assert rows, f"no endpoint for {path}"
    return int(rows[0][0])


def delivery_statuses(database_url: str, endpoint: int) -> dict[str, int]:
    rows = psql(
        database_url,
        "SELECT status, count(*) FROM alarms_delivery WHERE endpoint_id = %s GROUP BY status",
        endpoint,
    )
    return {status: int(count) for status, count in rows}


def wait_deliveries_settled(
    database_url: str, endpoint: int, total: int, *, timeout: float = 30.0
) -> dict[str, int]:
    """Wait until ``total`` deliveries of ``endpoint`` exist and none is pending/processing."""
    seen: dict[str, int] = {}

    def settled() -> bool:
        seen.clear()
        seen.update(delivery_statuses(database_url, endpoint))
        unsettled = sum(seen.get(status, 0) for status in UNSETTLED)
        return sum(seen.values()) == total and unsettled == 0

    start = time.monotonic()
    try:
        wait_until(settled, timeout, 0.05, message=f"{total} settled deliveries")
    except TimeoutError as exc:
        raise AssertionError(
            f"deliveries of endpoint {endpoint} not settled after {time.monotonic() - start:.1f}s:"
            f" {seen} (expected {total} in total, none pending/processing)"
        ) from exc
    return dict(seen)
