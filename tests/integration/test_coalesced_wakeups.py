"""Coalesced wake-ups end to end (issue 16): gunicorn publishes fewer processing tasks than it
stores deliveries, and a real Celery worker still processes every one of them promptly — with no
stranded-delivery sweep running (no beat in these tests), so nothing is rescued after the fact.
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from tests.integration.conftest import (
    EndpointPool,
    post_callback,
    tencent_metric_body,
    wait_deliveries_settled,
)
from tests.support.services import CeleryWorker, PostgresServer, WebServer

RECEIVED = "Task alarms.tasks.process_delivery["


def _body(n: int) -> bytes:
    return tencent_metric_body(
        policy_id=f"policy-wake-{n % 7}",
        instance_id=f"ins-wake{uuid.uuid4().hex[:8]}",
        first_occur="2026-12-01 10:00:00",
        session_id=f"wake-{uuid.uuid4().hex}",
    )


def test_a_burst_and_its_stragglers_are_all_processed_by_fewer_tasks_than_deliveries(
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
    postgres: PostgresServer,
) -> None:
    path, endpoint = endpoint_pool.take()
    mark = len(shared_worker.log_text())

    with ThreadPoolExecutor(max_workers=16) as pool:
        burst = list(pool.map(lambda n: post_callback(callback_web, path, _body(n)), range(160)))
    # Stragglers: a second callback a few milliseconds after the first, then quiet — the one
    # whose wake-up is skipped arrives after the covering task may already have claimed.
    stragglers = []
    for n in range(10):
        stragglers.append(post_callback(callback_web, path, _body(n)))
        stragglers.append(post_callback(callback_web, path, _body(n)))
        time.sleep(0.2)

    assert [r.status_code for r in burst + stragglers] == [200] * 180
    # Far sooner than any sweep could requeue anything (and none runs here).
    assert wait_deliveries_settled(postgres.url, endpoint, 180, timeout=20) == {"processed": 180}
    time.sleep(0.5)  # let the worker log every task it received
    tasks = shared_worker.log_text()[mark:].count(RECEIVED)
    assert 0 < tasks < 180, tasks
