"""Fixtures that run AlarmHub the way production does: PostgreSQL, Redis, Celery worker, gunicorn.

These tests share the pytest process with the unit tests, whose in-process Django settings point at
SQLite. So nothing here touches the in-process ORM: the application runs in subprocesses configured
by ``production_env``, and tests observe it through HTTP, ``psql()`` and the service logs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.services import (
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
    """``factory(name="worker", concurrency=2, env=None, **kwargs)`` starts a ready worker;
    every worker it made is stopped at the end of the test."""
    workers: list[CeleryWorker] = []

    def factory(
        name: str = "worker",
        concurrency: int = 2,
        env: dict[str, str] | None = None,
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
        worker.start()
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
