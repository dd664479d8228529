"""The production topology works end to end: Django → Redis → a separate worker → PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from tests.support.services import (
    CeleryWorker,
    PostgresServer,
    RedisServer,
    WebServer,
    manage,
    wait_until,
)


def test_task_queued_from_django_runs_in_worker_against_postgres(
    production_env: dict[str, str],
    postgres: PostgresServer,
    celery_worker_factory: Callable[..., CeleryWorker],
) -> None:
    marker = f"m-{uuid.uuid4().hex[:12]}"
    # A queue of its own: session-wide workers of other tests share this Redis.
    queue = f"foundation-{marker}"
    celery_worker = celery_worker_factory(name="foundation", extra_args=["-Q", queue])

    # A separate Django process publishes to Redis (no broker would mean an eager, local run).
    # The retention task reads and writes PostgreSQL and has no side effect on an empty table.
    manage(
        production_env,
        "shell",
        "-c",
        "from alarms.tasks import prune_old_deliveries; "
        f"prune_old_deliveries.apply_async(queue={queue!r}, task_id={marker!r})",
    )

    # The log lines prove it was this worker process (not the publisher) that ran the task,
    # and that it reached PostgreSQL (the task returns the number of pruned bodies).
    celery_worker.wait_for_log(
        rf"Task alarms\.tasks\.prune_old_deliveries\[{marker}\] received", timeout=30
    )
    celery_worker.wait_for_log(
        rf"Task alarms\.tasks\.prune_old_deliveries\[{marker}\] succeeded in [0-9.]+s: 0",
        timeout=30,
    )


def test_health_probes_through_gunicorn_follow_the_broker(
    web_server: WebServer, redis_server: RedisServer
) -> None:
    status, body = web_server.get("/healthz")
    assert status == 200
    status, body = web_server.get("/readyz")
    assert status == 200, body
    assert json.loads(body)["status"] == "ok"

    redis_server.stop()
    try:
        status, body = wait_until(
            lambda: _readyz_answer(web_server, 503),
            timeout=30,
            message="/readyz to answer 503 with Redis stopped",
        )
        assert json.loads(body)["broker"] == "down"
        # Liveness does not depend on the broker.
        assert web_server.get("/healthz")[0] == 200
    finally:
        redis_server.start()

    wait_until(
        lambda: _readyz_answer(web_server, 200),
        timeout=30,
        message="/readyz to recover after Redis restarted",
    )


def _readyz_answer(web_server: WebServer, expected: int) -> tuple[int, bytes] | None:
    answer = web_server.get("/readyz", timeout=15)
    return answer if answer[0] == expected else None
