"""Callbacks over HTTP through real gunicorn, Redis, Celery and PostgreSQL, with faults injected.

DESIGN §4: a callback answered 200 is on disk, and every stored delivery is processed exactly once
in effect, whatever happens to the broker, the worker or the database in between. Everything is
observed from outside: HTTP answers, rows in PostgreSQL, the service processes and their logs.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import requests

from tests.integration.conftest import (
    FIXTURES,
    EndpointPool,
    delivery_statuses,
    post_callback,
    tencent_metric_body,
    wait_deliveries_settled,
)
from tests.support.services import (
    CeleryBeat,
    CeleryWorker,
    PostgresServer,
    RedisServer,
    WebServer,
    psql,
    wait_until,
)

WorkerFactory = Callable[..., CeleryWorker]
BeatFactory = Callable[..., CeleryBeat]


def _session() -> str:
    return uuid.uuid4().hex[:24]


def _assert_accepted(response: requests.Response, body: bytes) -> None:
    assert response.status_code == 200, (response.status_code, response.text[:500])
    answer = response.json()
    assert answer["retCode"] == 0, answer
    assert answer["sessionId"] == json.loads(body).get("sessionId", ""), answer


# --- 1. the happy path over HTTP --------------------------------------------------------------

# fixture → (delivery status, alarm status); failures are JSON objects that are not alarms.
EXAMPLES = {
    # EventBridge's stateless status "-": fires, with no recovery to wait for.
    "constructed_event_eventbridge_stateless.json": ("processed", "firing"),
    "constructed_metric_apm_service_operation.json": ("processed", "firing"),
    "constructed_metric_clb_public_listener.json": ("processed", "firing"),
    "constructed_metric_cmongo_instance.json": ("processed", "firing"),
    "constructed_metric_cvm_cpu_continuous_repeat.json": ("processed", "firing"),
    "constructed_metric_object_level_id_instance.json": ("processed", "firing"),
    "constructed_metric_redis_mem_edition.json": ("processed", "firing"),
    # Two tiers of one policy, differing only in level: two alarms, never one.
    "constructed_metric_tiered_alert_id_remind.json": ("processed", "firing"),
    "constructed_metric_tiered_alert_id_serious.json": ("processed", "firing"),
    "constructed_prometheus_tmp_alert_firing.json": ("processed", "firing"),
    "constructed_unknown_alarm_type_body.json": ("failed", None),
    "custom_content_template_body_fixture.json": ("failed", None),
    "doc_event_cvm_ping_unreachable_trigger.json": ("processed", "firing"),
    "doc_event_vpc_peering_dimensions_fragment.json": ("failed", None),
    "doc_metric_cvm_cpu_legacy_2018.json": ("processed", "firing"),
    # The 2020 and 2023 doc samples describe the same alarm (same identity and firstOccurTime).
    "doc_metric_cvm_cpu_v2_2020.json": ("processed", "firing"),
    "doc_metric_cvm_cpu_tcop_2023.json": ("processed", "firing"),
    "event_cvm_ping_unreachable_status0_real.json": ("processed", "recovered"),
    "metric_cdb_cpu_use_rate_trigger_real_intl.json": ("processed", "firing"),
    "metric_cvm_disk_usage_trigger_repeat_real.json": ("processed", "recovered"),
    "metric_cvm_disk_usage_recovery_real.json": ("processed", "recovered"),
    "metric_cvm_network_qce_lb_trigger_tianji_2024.json": ("processed", "firing"),
    "response_ack_legacy_contract.json": ("failed", None),
}
# Failures whose error is not "not a Tencent alarm: ...": the object is one, of an unknown type.
FAILURE_REASONS = {"constructed_unknown_alarm_type_body.json": "alarmType must be"}


def test_example_callbacks_posted_over_http_are_processed_by_the_worker(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    assert sorted(EXAMPLES) == sorted(p.name for p in FIXTURES.glob("*.json")), "new fixture?"
    db = callback_env["DATABASE_URL"]
    path, endpoint = endpoint_pool.take()

    for name in EXAMPLES:
        body = (FIXTURES / name).read_bytes()
        _assert_accepted(post_callback(callback_web, path, body), body)
    statuses = wait_deliveries_settled(db, endpoint, len(EXAMPLES))

    assert statuses == {"processed": 19, "failed": 4}, statuses
    rows = psql(
        db,
        "SELECT d.body, d.status, d.error, a.status, p.policy_id"
        " FROM alarms_delivery d LEFT JOIN alarms_alarmevent e ON e.delivery_id = d.id"
        "   AND e.type IN ('triggered', 'repeated', 'recovered')"
        " LEFT JOIN alarms_alarm a ON a.id = e.alarm_id"
        " LEFT JOIN alarms_policy p ON p.id = a.policy_id WHERE d.endpoint_id = %s",
        endpoint,
    )
    bodies = {(FIXTURES / name).read_bytes(): name for name in EXAMPLES}
    by_fixture = {bodies[bytes(row[0])]: row[1:] for row in rows}
    assert sorted(by_fixture) == sorted(EXAMPLES)
    for name, (status, error, alarm_status, policy_id) in by_fixture.items():
        expected_status, expected_alarm = EXAMPLES[name]
        assert (status, alarm_status) == (expected_status, expected_alarm), (name, error)
        if status == "failed":
            assert FAILURE_REASONS.get(name, "not a Tencent alarm") in error, (name, error)
        else:
            payload = json.loads((FIXTURES / name).read_bytes())
            assert policy_id == payload["alarmPolicyInfo"].get("policyId", ""), name

    # 19 applied notifications make 17 alarms: two pairs describe one alarm each.
    alarms = psql(
        db,
        "SELECT count(*), sum(notification_count) FROM alarms_alarm WHERE endpoint_id = %s",
        endpoint,
    )
    assert alarms == [(17, 19)]
    # The real trigger/repeat + recovery pair: one alarm, recovered after 101340 s.
    disk = psql(
        db,
        "SELECT a.status, a.trigger_seen, a.superseded, a.notification_count,"
        " a.duration_seconds, a.first_occurred_at, a.recovered_at, a.current_value"
        " FROM alarms_alarm a WHERE a.endpoint_id = %s AND a.metric_name = 'disk_usage'",
        endpoint,
    )
    assert disk == [
        (
            "recovered",
            True,
            False,
            2,
            101340,
            datetime(2021, 5, 4, 20, 37, tzinfo=UTC),  # 04:37 Asia/Shanghai
            datetime(2021, 5, 6, 0, 46, tzinfo=UTC),
            "26.14",
        )
    ]


# --- 2. Tencent's retries racing each other ---------------------------------------------------


def test_concurrent_byte_identical_callbacks_store_one_delivery_and_duplicates(
    callback_env: dict[str, str],
    callback_web: WebServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    db = callback_env["DATABASE_URL"]
    path, endpoint = endpoint_pool.take()
    body = tencent_metric_body(
        policy_id="policy-dup00001",
        instance_id="ins-dup00001",
        first_occur="2024-05-01 10:00:00",
        session_id=_session(),
    )
    threads = 20
    barrier = threading.Barrier(threads)

    def send(_: int) -> requests.Response:
        with requests.Session() as http:
            barrier.wait(timeout=10)
            return http.post(callback_web.base_url + path, data=body, timeout=15)

    with ThreadPoolExecutor(threads) as pool:
        answers = list(pool.map(send, range(threads)))

    for answer in answers:
        _assert_accepted(answer, body)
    statuses = wait_deliveries_settled(db, endpoint, threads)
    assert statuses == {"processed": 1, "duplicate": threads - 1}, statuses
    original = psql(
        db,
        "SELECT id FROM alarms_delivery WHERE endpoint_id = %s AND status = 'processed'",
        endpoint,
    )[0][0]
    # Every duplicate points at the one stored original and touched no alarm.
    assert psql(
        db,
        "SELECT d.duplicate_of_id, count(e.id), count(DISTINCT d.id) FROM alarms_delivery d"
        " LEFT JOIN alarms_alarmevent e ON e.delivery_id = d.id"
        " WHERE d.endpoint_id = %s AND d.status = 'duplicate' GROUP BY 1",
        endpoint,
    ) == [(original, 0, threads - 1)]
    assert psql(
        db,
        "SELECT status, notification_count FROM alarms_alarm WHERE endpoint_id = %s",
        endpoint,
    ) == [("firing", 1)]


# --- 3. Redis down ----------------------------------------------------------------------------


def test_callbacks_while_redis_is_down_are_stored_and_processed_after_it_returns(
    callback_env: dict[str, str],
    callback_web: WebServer,
    redis_server: RedisServer,
    shared_worker: CeleryWorker,
    celery_beat_factory: BeatFactory,
    endpoint_pool: EndpointPool,
) -> None:
    """Redis goes away while the worker is busy, comes back, flaps once more, and comes back.

    Every callback is answered 200 at once and stored; queue messages lost with Redis (and the
    tasks cancelled mid-run when the worker loses its connection) are re-queued by the beat
    sweep; and the worker that lived through it all consumes fresh messages again.
    """
    db = callback_env["DATABASE_URL"]
    worker, worker_pid = shared_worker, shared_worker.pid
    beat = celery_beat_factory(env=callback_env)
    path, endpoint = endpoint_pool.take()
    sent = 0

    def post_new(*, quick: bool = False) -> None:
        nonlocal sent
        body = tencent_metric_body(
            policy_id="policy-redis001",
            instance_id=f"ins-redis{sent:03d}",
            first_occur="2024-05-01 10:00:00",
            session_id=_session(),
        )
        started = time.monotonic()
        response = post_callback(callback_web, path, body, timeout=10)
        elapsed = time.monotonic() - started
        _assert_accepted(response, body)
        assert not quick or elapsed < 3, f"callback {sent} took {elapsed:.1f}s with Redis down"
        sent += 1

    def wait_worker_log(since: int, *texts: str) -> None:
        wait_until(
            lambda: any(text in worker.log_text()[since:] for text in texts),
            20,
            message=f"any of {texts} in the worker log",
        )

    lost = ("Connection to broker lost", "Cannot connect to redis")
    # Celery names the transport it connected with: ours (alarmhub/broker.py) or kombu's redis.
    connected = ("Connected to alarmhub.broker:Transport://", "Connected to redis")

    # A backlog keeps the worker busy, so the outage hits tasks in flight.
    for _ in range(30):
        post_new()
    wait_until(
        lambda: delivery_statuses(db, endpoint).get("processed", 0) >= 2,
        20,
        0.02,
        message="the worker to start on the backlog",
    )
    mark = len(worker.log_text())
    redis_server.stop()
    try:
        stored = sum(delivery_statuses(db, endpoint).values())
        for _ in range(20):
            post_new(quick=True)
        statuses = delivery_statuses(db, endpoint)
        assert sum(statuses.values()) == sent
        assert statuses.get("pending", 0) >= sent - stored, statuses
        # Let the worker notice, so that it really goes through its reconnect path...
        wait_worker_log(mark, *lost)
        mark = len(worker.log_text())
        redis_server.start()  # same port: the clients' URLs stay valid
        wait_worker_log(mark, *connected)
        # ...twice, the second time right after it reconnected (a flapping broker).
        mark = len(worker.log_text())
        redis_server.stop()
        wait_worker_log(mark, *lost)
    finally:
        redis_server.start()
    mark = len(worker.log_text())

    # Nothing survived in Redis: the beat sweep alone brings the stranded deliveries back.
    assert wait_deliveries_settled(db, endpoint, sent, timeout=45) == {"processed": sent}

    # The worker that lived through the restarts consumes a fresh message, which the web
    # published at once (not through the sweep).
    post_new()
    assert wait_deliveries_settled(db, endpoint, sent, timeout=20) == {"processed": sent}
    assert worker.running and worker.pid == worker_pid, "the worker was restarted"
    assert "Task alarms.tasks.process_delivery" in worker.log_text()[mark:], worker.tail()
    fresh = psql(db, "SELECT max(id) FROM alarms_delivery WHERE endpoint_id = %s", endpoint)
    assert f"could not queue delivery {fresh[0][0]};" not in callback_web.log_text()
    assert beat.running, beat.tail()
    # Exactly once in effect, cancelled tasks and re-queued messages notwithstanding.
    assert psql(
        db,
        "SELECT count(*), sum(notification_count) FROM alarms_alarm WHERE endpoint_id = %s",
        endpoint,
    ) == [(sent, sent)]


# --- 4. worker killed mid-task ----------------------------------------------------------------


def test_deliveries_of_a_sigkilled_worker_are_all_applied_exactly_once(
    callback_env: dict[str, str],
    callback_web: WebServer,
    session_worker: CeleryWorker,
    celery_worker_factory: WorkerFactory,
    celery_beat_factory: BeatFactory,
    endpoint_pool: EndpointPool,
) -> None:
    db = callback_env["DATABASE_URL"]
    session_worker.stop()  # the victim must have the queue to itself
    path, endpoint = endpoint_pool.take()
    identities, per_alarm = 15, 10
    bodies = [
        tencent_metric_body(
            policy_id=f"policy-kill{i % 4:04d}",
            instance_id=f"ins-kill{i:04d}",
            first_occur="2024-05-01 10:00:00",
            session_id=_session(),
            duration=300 * k,
            value=f"{90 + k}.5",
        )
        for i in range(identities)
        for k in range(per_alarm)
    ]
    total = len(bodies)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: post_callback(callback_web, path, b), bodies))
    for answer, sent in zip(answers, bodies, strict=True):
        _assert_accepted(answer, sent)
    # Started on a full queue, with small batches: it is killed between two of them or in one.
    victim = celery_worker_factory(
        "victim", concurrency=1, env={**callback_env, "ALARMHUB_PROCESS_BATCH_SIZE": "5"}
    )

    # SIGKILL the whole worker (main process and pool child) while it is busy.
    def busy() -> dict[str, int] | None:
        statuses = delivery_statuses(db, endpoint)
        return statuses if statuses.get("processing") and statuses.get("processed") else None

    wait_until(busy, 30, 0.01, message="the victim worker to be mid-task")
    victim.kill()
    stranded = delivery_statuses(db, endpoint)
    assert stranded.get("pending", 0) + stranded.get("processing", 0) > 0, stranded

    # A new worker takes the queued messages; the sweep re-queues the dead worker's claims.
    session_worker.start(wait=False)
    beat = celery_beat_factory(env=callback_env, wait=False)
    session_worker.wait_ready()
    beat.wait_ready()
    statuses = wait_deliveries_settled(db, endpoint, total, timeout=90)
    assert statuses == {"processed": total}, f"{statuses}, stranded at the kill: {stranded}"

    rows = psql(
        db,
        "SELECT a.id, a.notification_count,"
        " (SELECT count(DISTINCT d.id) FROM alarms_delivery d JOIN alarms_alarmevent e"
        "   ON e.delivery_id = d.id AND e.alarm_id = a.id),"
        " (SELECT count(*) FROM alarms_alarmevent e WHERE e.alarm_id = a.id"
        "   AND e.type IN ('triggered', 'repeated', 'recovered')),"
        " (SELECT count(DISTINCT e.delivery_id) FROM alarms_alarmevent e WHERE e.alarm_id = a.id"
        "   AND e.type IN ('triggered', 'repeated', 'recovered')),"
        " a.duration_seconds, a.trigger_seen"
        " FROM alarms_alarm a WHERE a.endpoint_id = %s",
        endpoint,
    )
    assert len(rows) == identities
    for alarm, count, deliveries, events, distinct, duration, trigger_seen in rows:
        assert (count, deliveries, events, distinct) == (per_alarm,) * 4, (
            f"alarm {alarm}: notification_count {count}, {deliveries} deliveries, "
            f"{events} notification events from {distinct} deliveries; stranded: {stranded}"
        )
        assert (duration, trigger_seen) == (300 * (per_alarm - 1), True)


# --- 5. PostgreSQL restart and outage ---------------------------------------------------------


def _pg_body(n: int) -> bytes:
    return tencent_metric_body(
        policy_id="policy-pg000001",
        instance_id=f"ins-pg{n:06d}",
        first_occur="2024-05-01 10:00:00",
        session_id=_session(),
    )


def test_callbacks_after_a_postgres_restart_are_stored_and_processed(
    callback_env: dict[str, str],
    callback_web: WebServer,
    postgres: PostgresServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    db = callback_env["DATABASE_URL"]
    path, endpoint = endpoint_pool.take()
    # Open persistent connections (gunicorn threads, worker pool) before the restart.
    for n in range(8):
        _assert_accepted(post_callback(callback_web, path, b := _pg_body(n)), b)
    wait_deliveries_settled(db, endpoint, 8)

    postgres.restart()

    for n in range(8, 16):
        _assert_accepted(post_callback(callback_web, path, b := _pg_body(n)), b)
    assert wait_deliveries_settled(db, endpoint, 16, timeout=40) == {"processed": 16}


def test_callbacks_while_postgres_is_down_answer_503_so_tencent_retries(
    callback_env: dict[str, str],
    callback_web: WebServer,
    postgres: PostgresServer,
    shared_worker: CeleryWorker,
    endpoint_pool: EndpointPool,
) -> None:
    """DESIGN §4: never 200 for a delivery that is not on disk; never a 5xx other than 503.

    One endpoint was used just before the outage (gunicorn may have its look-up cached); the
    other gets its first callback during the outage.
    """
    db = callback_env["DATABASE_URL"]
    (used, used_id), (fresh, fresh_id) = endpoint_pool.take(), endpoint_pool.take()
    for n in range(8):
        _assert_accepted(post_callback(callback_web, used, b := _pg_body(n)), b)
    wait_deliveries_settled(db, used_id, 8)

    postgres.stop()
    try:
        answers = {
            label: [post_callback(callback_web, path, _pg_body(n), timeout=15) for n in range(4)]
            for label, path in (("used endpoint", used), ("first-use endpoint", fresh))
        }
    finally:
        postgres.start()
    statuses = {label: [a.status_code for a in got] for label, got in answers.items()}
    assert statuses == {label: [503] * 4 for label in answers}, statuses
    for answer in answers["used endpoint"] + answers["first-use endpoint"]:
        assert answer.json()["retCode"] != 0, answer.text

    # Nothing was stored during the outage, and callbacks are stored again once it is over.
    assert delivery_statuses(db, used_id) == {"processed": 8}
    assert delivery_statuses(db, fresh_id) == {}
    for path in (used, fresh):
        _assert_accepted(post_callback(callback_web, path, b := _pg_body(99)), b)
    assert wait_deliveries_settled(db, used_id, 9, timeout=40) == {"processed": 9}
    assert wait_deliveries_settled(db, fresh_id, 1, timeout=40) == {"processed": 1}
