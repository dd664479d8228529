"""Processing resumes after a crash, with no human action (issue 15).

A callback answered 200 is on disk (DESIGN §4); these tests crash what sits between the disk and the
worker — Redis SIGKILLed with messages in flight, the worker SIGKILLed under a supervisor — and
require every stored delivery to be processed within the requeue delay plus two sweeps once the
crashed service is back. Each prints sent / stored / processed / lost and requires lost == 0.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from kombu import Connection, Consumer, Exchange, Producer, Queue
from kombu.common import ignore_errors

from tests.integration.conftest import (
    CALLBACK_SETTINGS,
    EndpointPool,
    delivery_statuses,
    post_callback,
    tencent_metric_body,
)
from tests.support.services import (
    CeleryBeat,
    CeleryWorker,
    RedisServer,
    WebServer,
    psql,
    wait_until,
)

WorkerFactory = Callable[..., CeleryWorker]
BeatFactory = Callable[..., CeleryBeat]

STORM = 300
REQUEUE_AFTER = int(CALLBACK_SETTINGS["ALARMHUB_REQUEUE_AFTER_SECONDS"])
SWEEP_EVERY = int(CALLBACK_SETTINGS["ALARMHUB_SWEEP_INTERVAL_SECONDS"])
# What the contract allows once the crashed service is back, plus the time the worker needs to
# get through the backlog itself (measured as the rate before the crash).
RECOVERY_BUDGET = REQUEUE_AFTER + 2 * SWEEP_EVERY
# As in the field report: Redis came back (empty) ten seconds after it was killed.
BROKER_DOWNTIME = 10.0


def _bodies(prefix: str, count: int) -> list[bytes]:
    """``count`` distinct alarms (one identity each), so processed deliveries == alarms."""
    return [
        tencent_metric_body(
            policy_id=f"policy-{prefix}",
            instance_id=f"ins-{prefix}{n:04d}",
            first_occur="2024-05-01 10:00:00",
            session_id=uuid.uuid4().hex[:24],
        )
        for n in range(count)
    ]


class Storm:
    """Posts the bodies from 8 threads in the background; counts the 200 answers."""

    def __init__(self, web: WebServer, path: str, bodies: list[bytes]) -> None:
        self.web, self.path, self.bodies = web, path, bodies
        self.accepted = 0
        self.refused: list[str] = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Storm:
        self._thread.start()
        return self

    def join(self, timeout: float = 120.0) -> None:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "the callback storm did not finish"

    def _post(self, body: bytes) -> None:
        try:
            answer = post_callback(self.web, self.path, body, timeout=15)
            ok = answer.status_code == 200 and answer.json().get("retCode") == 0
            detail = f"HTTP {answer.status_code}"
        except requests.RequestException as exc:
            ok, detail = False, repr(exc)
        with self._lock:
            if ok:
                self.accepted += 1
            else:
                self.refused.append(detail)

    def _run(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self._post, self.bodies))


def _report(
    name: str, db: str, endpoint: int, storm: Storm, recovered_in: float | None
) -> dict[str, int]:
    statuses = delivery_statuses(db, endpoint)
    numbers = {
        "sent": len(storm.bodies),
        "answered_200": storm.accepted,
        "stored": sum(statuses.values()),
        "processed": statuses.get("processed", 0),
    }
    # A callback answered 200 must be processed; one refused may be retried by Tencent.
    numbers["lost"] = max(storm.accepted - numbers["processed"], 0)
    took = "never" if recovered_in is None else f"{recovered_in:.1f}s"
    print(f"\n{name}: {numbers}, statuses {statuses}, all processed {took} after recovery")
    return numbers


def _wait_all_processed(db: str, endpoint: int, total: int, timeout: float) -> float | None:
    """Seconds until ``total`` deliveries of ``endpoint`` are all processed (None: not in time)."""
    start = time.monotonic()
    try:
        wait_until(
            lambda: delivery_statuses(db, endpoint) == {"processed": total},
            timeout,
            0.1,
            message=f"{total} processed deliveries",
        )
    except TimeoutError:
        return None
    return time.monotonic() - start


def _wait_mid_storm(db: str, endpoint: int) -> None:
    """Until the worker has done some of the storm and holds unacknowledged messages."""

    def in_flight() -> bool:
        statuses = delivery_statuses(db, endpoint)
        return statuses.get("processed", 0) >= 20 and statuses.get("processing", 0) > 0

    wait_until(in_flight, 60, 0.01, message="the worker to be mid-task in the storm")


def _rate(db: str, endpoint: int, since: float) -> float:
    """Deliveries processed per second so far (at least 1, so a budget stays finite)."""
    processed = delivery_statuses(db, endpoint).get("processed", 0)
    return max(processed / max(time.monotonic() - since, 0.1), 1.0)


def _assert_exactly_once(db: str, endpoint: int, total: int) -> None:
    assert psql(
        db,
        "SELECT count(*), sum(notification_count) FROM alarms_alarm WHERE endpoint_id = %s",
        endpoint,
    ) == [(total, total)]


def test_closing_the_consumer_channel_after_a_redis_sigkill_mid_brpop_does_not_raise(
    redis_server: RedisServer,
) -> None:
    """The crash behind issue 15, step by step as Celery's consumer goes through it: a message
    unacknowledged (acks_late), a BRPOP outstanding (the event loop always has one), a second
    channel with an auto-delete fanout queue (remote control), then Redis SIGKILLed, and
    ``collect()`` followed by ``close()``. With kombu 5.7.0's own transport the close raises
    AttributeError ('NoneType' object has no attribute 'hostname'), which kills the worker."""
    conn = Connection(redis_server.url, transport="alarmhub.broker:Transport")
    try:
        queue = Queue("crash-probe", Exchange("crash-probe"), routing_key="crash-probe")
        channel = conn.default_channel
        Producer(channel).publish(
            {"n": 1}, exchange=queue.exchange, routing_key="crash-probe", declare=[queue]
        )
        received: list[object] = []
        consumer = Consumer(channel, [queue], callbacks=[lambda _b, m: received.append(m)])
        consumer.qos(prefetch_count=1)
        consumer.consume()
        control = conn.channel()
        broadcast = Queue("probe.pidbox", Exchange("probe.bcast", type="fanout"), auto_delete=True)
        Consumer(control, [broadcast], callbacks=[lambda _b, _m: None], no_ack=True).consume()
        for _ in range(10):
            with contextlib.suppress(TimeoutError):
                conn.drain_events(timeout=1)
            if received:
                break
        assert received, "the probe message never arrived"
        channel._brpop_start()  # type: ignore[attr-defined]  # as the worker's loop does each tick
        redis_server.kill()

        # Celery's Consumer.on_connection_error_after_connected, in order.
        ignore_errors(conn, conn.collect, socket_timeout=1)
        ignore_errors(conn, conn.close)  # raised AttributeError before the fix
    finally:
        if not redis_server.running:
            redis_server.start()


@pytest.fixture
def quiet_queue(session_worker: CeleryWorker, callback_web: WebServer) -> WebServer:
    """The session's shared worker stopped: the test's own worker has the queue to itself."""
    session_worker.stop()
    return callback_web


def test_worker_survives_a_redis_sigkill_with_messages_in_flight(
    callback_env: dict[str, str],
    quiet_queue: WebServer,
    redis_server: RedisServer,
    celery_worker_factory: WorkerFactory,
    celery_beat_factory: BeatFactory,
    endpoint_pool: EndpointPool,
) -> None:
    """Redis is SIGKILLed mid-storm (acks_late messages unacknowledged in the worker) and comes
    back empty on the same port: the same worker reconnects and, with the sweep, processes every
    stored delivery."""
    db = callback_env["DATABASE_URL"]
    worker = celery_worker_factory("crash", concurrency=2, env=callback_env, wait=False)
    beat = celery_beat_factory(env=callback_env, wait=False)
    worker.wait_ready()
    beat.wait_ready()
    worker_pid = worker.pid
    path, endpoint = endpoint_pool.take()

    started = time.monotonic()
    storm = Storm(quiet_queue, path, _bodies("crash", STORM)).start()

    _wait_mid_storm(db, endpoint)
    rate = _rate(db, endpoint, started)
    mark = len(worker.log_text())
    redis_server.kill()  # SIGKILL: no shutdown, every queued and unacked message is gone
    try:
        at_kill = delivery_statuses(db, endpoint)
        time.sleep(BROKER_DOWNTIME)
    finally:
        redis_server.start()  # same port, empty
    restarted_at = len(worker.log_text())
    storm.join()

    stored = sum(delivery_statuses(db, endpoint).values())
    budget = RECOVERY_BUDGET + stored / rate + 15  # draining the backlog takes time of its own
    recovered_in = _wait_all_processed(db, endpoint, stored, timeout=budget)
    numbers = _report("redis SIGKILL", db, endpoint, storm, recovered_in)

    after = worker.log_text()[mark:]
    assert "Unrecoverable error" not in after, worker.tail(80)
    assert worker.running and worker.pid == worker_pid, f"the worker died:\n{worker.tail(80)}"
    assert beat.running, beat.tail()
    assert at_kill.get("pending", 0) + at_kill.get("processing", 0) > 0, at_kill
    assert numbers["stored"] == numbers["answered_200"], numbers
    assert numbers["lost"] == 0, numbers
    assert recovered_in is not None, f"not all processed within {budget:.0f}s: {numbers}"
    _assert_exactly_once(db, endpoint, stored)
    # The worker that lived through the crash consumed what was published after Redis came back.
    assert "Task alarms.tasks.process_delivery" in worker.log_text()[restarted_at:], worker.tail()


class Supervisor:
    """What systemd's ``Restart=always`` / ``RestartSec`` does, in a thread: start the service
    again whenever it exits."""

    def __init__(self, service: CeleryWorker, restart_sec: float = 1.0) -> None:
        self.service, self.restart_sec = service, restart_sec
        self.restarts = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> Supervisor:
        self.service.start(wait=False)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            if self.service.running:
                continue
            if self._stop.wait(self.restart_sec):
                return
            self.restarts += 1
            self.service.start(wait=False)


def test_a_sigkilled_worker_restarted_by_its_supervisor_processes_every_delivery(
    callback_env: dict[str, str],
    quiet_queue: WebServer,
    celery_beat_factory: BeatFactory,
    endpoint_pool: EndpointPool,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The worker dies mid-storm (SIGKILL to its whole process group); a supervisor loop starts
    it again two seconds later, as the shipped systemd unit would; nothing is lost."""
    db = callback_env["DATABASE_URL"]
    worker = CeleryWorker(
        callback_env,
        name="supervised",
        concurrency=2,
        log_dir=tmp_path_factory.mktemp("supervised-worker"),
    )
    beat = celery_beat_factory(env=callback_env, wait=False)
    path, endpoint = endpoint_pool.take()
    try:
        with Supervisor(worker, restart_sec=2) as supervisor:
            worker.wait_ready()
            beat.wait_ready()
            started = time.monotonic()
            storm = Storm(quiet_queue, path, _bodies("super", STORM)).start()

            _wait_mid_storm(db, endpoint)
            rate = _rate(db, endpoint, started)
            first_pid = worker.pid
            worker.kill()
            wait_until(
                lambda: worker.running and worker.pid != first_pid,
                15,
                0.1,
                message="the supervisor to restart the worker",
            )
            storm.join()
            stored = sum(delivery_statuses(db, endpoint).values())
            budget = RECOVERY_BUDGET + stored / rate + 30  # plus the restarted worker's boot
            recovered_in = _wait_all_processed(db, endpoint, stored, timeout=budget)
            restarts = supervisor.restarts
    finally:
        worker.close()
    numbers = _report("worker SIGKILL under a supervisor", db, endpoint, storm, recovered_in)
    print(f"supervisor restarts: {restarts}")

    assert restarts == 1, restarts
    assert numbers["stored"] == numbers["answered_200"] == STORM, numbers
    assert numbers["lost"] == 0, numbers
    assert recovered_in is not None, f"not all processed within {budget:.0f}s: {numbers}"
    _assert_exactly_once(db, endpoint, stored)
