"""Process faults with no human action (issue 15, item 6): beat killed and restarted, the web
process SIGKILLed mid-burst. Each test prints sent / stored / processed / lost and requires
lost == 0. (The Redis SIGKILL and worker SIGKILL tests are in test_broker_crash.py.)
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
import redis
import requests

from tests.integration.conftest import (
    CALLBACK_SETTINGS,
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
    _children,
    psql,
    wait_until,
)

BeatFactory = Callable[..., CeleryBeat]
GUNICORN_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gunicorn.conf.py"
REQUEUE_AFTER = int(CALLBACK_SETTINGS["ALARMHUB_REQUEUE_AFTER_SECONDS"])
SWEEP_EVERY = int(CALLBACK_SETTINGS["ALARMHUB_SWEEP_INTERVAL_SECONDS"])
SWEEP_BUDGET = REQUEUE_AFTER + 2 * SWEEP_EVERY  # the contract, once beat runs again


def _bodies(prefix: str, count: int) -> list[bytes]:
    """``count`` distinct alarms (one identity each): processed deliveries == alarms."""
    return [
        tencent_metric_body(
            policy_id=f"policy-{prefix}",
            instance_id=f"ins-{prefix}{n:04d}",
            first_occur="2024-05-01 10:00:00",
            session_id=uuid.uuid4().hex[:24],
        )
        for n in range(count)
    ]


def _heartbeat(db: str) -> datetime | None:
    rows = psql(db, "SELECT at FROM alarms_heartbeat WHERE name = 'requeue_stranded_deliveries'")
    return rows[0][0] if rows else None


def _alarms(db: str, endpoint: int) -> tuple[int, int]:
    """(alarms, notifications counted on them) for ``endpoint``."""
    count, notified = psql(
        db,
        "SELECT count(*), coalesce(sum(notification_count), 0) FROM alarms_alarm"
        " WHERE endpoint_id = %s",
        endpoint,
    )[0]
    return int(count), int(notified)


def _drop_queued_messages(broker_url: str) -> int:
    """Delete the Celery queue lists in Redis: every queued message is lost, bindings stay."""
    client = redis.Redis.from_url(broker_url)
    try:
        lists = [key for key in client.scan_iter("celery*") if client.type(key) == b"list"]
        return int(client.delete(*lists)) if lists else 0
    finally:
        client.close()


# --- beat killed and restarted -----------------------------------------------------------------


def test_sweep_resumes_when_a_killed_beat_is_restarted(
    callback_env: dict[str, str],
    callback_web: WebServer,
    session_worker: CeleryWorker,
    celery_beat_factory: BeatFactory,
    endpoint_pool: EndpointPool,
) -> None:
    """Beat is SIGKILLed; callbacks stored meanwhile lose their queue message; nothing re-queues
    them while beat is dead (the heartbeat stands still). Beat restarted over its old schedule
    file and pid file: the sweep resumes, the heartbeat advances, every delivery is processed."""
    db, sent = callback_env["DATABASE_URL"], 30
    if not session_worker.running:
        session_worker.start()
    beat = celery_beat_factory(env=callback_env)
    first = wait_until(lambda: _heartbeat(db), 30, 0.2, message="a first sweep heartbeat")
    wait_until(lambda: (_heartbeat(db) or first) > first, 30, 0.2, message="beat sweeping")

    beat.kill()
    session_worker.stop()  # the queue keeps what is posted now, until it is dropped below
    path, endpoint = endpoint_pool.take()
    answered = sum(
        post_callback(callback_web, path, body).status_code == 200 for body in _bodies("beat", sent)
    )
    dropped = _drop_queued_messages(callback_env["CELERY_BROKER_URL"])
    stalled_at = _heartbeat(db)
    session_worker.start()

    # Longer than the sweep would take if anything swept: the deliveries stay stranded.
    time.sleep(SWEEP_BUDGET + 2)
    while_dead = delivery_statuses(db, endpoint)
    heartbeat_while_dead = _heartbeat(db)

    restarted = time.monotonic()
    beat.start()
    try:
        wait_until(
            lambda: delivery_statuses(db, endpoint) == {"processed": sent},
            SWEEP_BUDGET + 30,  # plus beat's own start-up on a busy machine
            0.2,
            message=f"{sent} processed deliveries",
        )
        recovered_in: float | None = time.monotonic() - restarted
    except TimeoutError:
        recovered_in = None
    statuses = delivery_statuses(db, endpoint)
    numbers = {
        "sent": sent,
        "answered_200": answered,
        "stored": sum(statuses.values()),
        "processed": statuses.get("processed", 0),
    }
    numbers["lost"] = max(answered - numbers["processed"], 0)
    took = "never" if recovered_in is None else f"{recovered_in:.1f}s"
    print(
        f"\nbeat SIGKILL: {numbers}; while dead {while_dead}, queue keys dropped {dropped};"
        f" all processed {took} after beat restarted; heartbeat {stalled_at} -> {_heartbeat(db)}"
    )

    assert answered == sent
    assert while_dead == {"pending": sent}, while_dead
    assert heartbeat_while_dead == stalled_at  # nothing notices a dead beat but the heartbeat
    assert numbers["lost"] == 0, numbers
    assert recovered_in is not None, f"not all processed within {SWEEP_BUDGET + 30}s: {numbers}"
    heartbeat = _heartbeat(db)
    assert heartbeat is not None and stalled_at is not None and heartbeat > stalled_at
    assert _alarms(db, endpoint) == (sent, sent)
    assert "re-queued" in session_worker.log_text(since_start=True), session_worker.tail()


# --- the web process SIGKILLed mid-burst -------------------------------------------------------

BURST = 200
# Tencent retries a callback that got no 200; the test keeps at it longer than Tencent's three
# tries so that the restart of a killed master fits in (systemd: RestartSec=2 plus boot).
RETRY_FOR = 90.0


@dataclass
class Outcome:
    attempts: int = 0
    answered: bool = False  # some attempt got 200 {"retCode": 0}
    failures: list[str] = field(default_factory=list)


class Tencent:
    """Posts every body from 8 threads, retrying one that got no 200 every 0.5 s."""

    def __init__(self, web: WebServer, path: str, bodies: list[bytes]) -> None:
        self.web, self.path, self.bodies = web, path, bodies
        self.outcomes = [Outcome() for _ in bodies]
        self.lock = threading.Lock()
        self.answered = 0
        self.thread = threading.Thread(target=self._run, daemon=True, name="tencent")

    def _deliver(self, index: int) -> None:
        outcome, deadline = self.outcomes[index], time.monotonic() + RETRY_FOR
        while time.monotonic() < deadline:
            outcome.attempts += 1
            try:
                answer = post_callback(self.web, self.path, self.bodies[index], timeout=5)
                if answer.status_code == 200 and answer.json().get("retCode") == 0:
                    outcome.answered = True
                    with self.lock:
                        self.answered += 1
                    return
                outcome.failures.append(f"HTTP {answer.status_code}")
            except (requests.RequestException, ValueError) as exc:
                outcome.failures.append(type(exc).__name__)
            time.sleep(0.5)

    def _run(self) -> None:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(self._deliver, range(len(self.bodies))))

    def __enter__(self) -> Tencent:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.thread.join(RETRY_FOR + 60)
        assert not self.thread.is_alive(), "the burst did not finish"


@pytest.fixture
def killable_web(
    callback_env: dict[str, str],
    postgres: PostgresServer,
    redis_server: RedisServer,
    integration_log_dir: Path,
) -> Iterator[WebServer]:
    """gunicorn started the documented way (``-c deploy/gunicorn.conf.py``: 2 gevent workers),
    its own, since the test kills it."""
    server = WebServer(
        callback_env,
        workers=2,
        log_dir=integration_log_dir / "killable-web",
        extra_args=["-c", str(GUNICORN_CONF)],
    )
    try:
        server.start()
        yield server
    finally:
        server.close()


def _kill_one_worker(web: WebServer) -> int:
    assert web.pid is not None
    workers = _children(web.pid)
    assert workers, "gunicorn has no worker processes"
    os.kill(workers[0], signal.SIGKILL)
    return workers[0]


def _kill_the_master(web: WebServer) -> None:
    # SIGKILL to the process group (master and workers at once), then what Restart=always does.
    web.kill()
    time.sleep(2)  # RestartSec=2 in deploy/systemd/alarmhub-web.service
    web.start()


@pytest.mark.parametrize("victim", ["worker", "master"])
def test_web_process_sigkilled_mid_burst_loses_no_answered_callback(
    callback_env: dict[str, str],
    killable_web: WebServer,
    shared_worker: CeleryWorker,
    celery_beat_factory: BeatFactory,
    endpoint_pool: EndpointPool,
    victim: str,
) -> None:
    """Every callback that got 200 is on disk; one that got no answer is retried (as Tencent
    would) and then is stored once or recorded as a duplicate: never lost, never two alarms.
    Beat runs, as in production: a kill between the commit and the publish strands a delivery
    that only the sweep queues again."""
    db = callback_env["DATABASE_URL"]
    celery_beat_factory(env=callback_env)
    path, endpoint = endpoint_pool.take()
    bodies = _bodies(f"web-{victim}", BURST)

    with Tencent(killable_web, path, bodies) as tencent:
        wait_until(lambda: tencent.answered >= 40, 60, 0.01, message="the burst under way")
        if victim == "worker":
            killed = _kill_one_worker(killable_web)
            detail = f"worker pid {killed}"
        else:
            _kill_the_master(killable_web)
            detail = "master and workers, restarted after 2 s"

    rows = psql(
        db,
        "SELECT body_sha256, status FROM alarms_delivery WHERE endpoint_id = %s",
        endpoint,
    )
    originals: dict[str, int] = {}
    duplicates = 0
    for digest, status in rows:
        if status == "duplicate":
            duplicates += 1
        else:
            originals[digest] = originals.get(digest, 0) + 1
    digests = [hashlib.sha256(body).hexdigest() for body in bodies]
    answered = [o.answered for o in tencent.outcomes]
    settled = wait_deliveries_settled(db, endpoint, len(rows), timeout=SWEEP_BUDGET + 60)
    numbers = {
        "sent": BURST,
        "answered_200": sum(answered),
        "retried": sum(1 for o in tencent.outcomes if o.attempts > 1),
        "stored": len(originals),
        "duplicates": duplicates,
        "processed": settled.get("processed", 0),
        # Answered 200 at some attempt, yet not on disk.
        "lost": sum(
            1 for ok, d in zip(answered, digests, strict=True) if ok and d not in originals
        ),
    }
    failures = sorted({f for o in tencent.outcomes for f in o.failures})
    print(f"\nweb SIGKILL ({detail}): {numbers}; failed attempts were {failures}")

    assert numbers["lost"] == 0, numbers
    assert all(answered), f"{answered.count(False)} callbacks never got 200: {numbers}"
    # Stored once each: a retry of a stored body became a duplicate row, not a second original.
    assert originals == dict.fromkeys(digests, 1), numbers
    assert numbers["processed"] == BURST, settled
    assert _alarms(db, endpoint) == (BURST, BURST)  # one alarm per body, notified once
    assert numbers["retried"] > 0, "the kill hit no request: the test proved nothing"
