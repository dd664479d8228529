"""Coalesced wake-ups (issue 16): a web process publishes at most one processing task per window,
and that task's drain processes every delivery whose own wake-up was skipped — including one
committed just before the window closed, after the task's first claim.
"""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.db import OperationalError

from alarms import tasks
from alarms.choices import DeliveryStatus
from alarms.models import Delivery
from alarms.pipeline import wakeups
from alarms.pipeline.store import store_delivery
from alarms.pipeline.wakeups import WakeupCoalescer, drain
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import encode, tencent_payload

pytestmark = pytest.mark.django_db


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _store(endpoint: NewEndpoint, n: int) -> int:
    body = encode(tencent_payload(session_id=f"s{n}", instance_id=f"ins-w{n:04d}"))
    return store_delivery(
        endpoint_id=endpoint.endpoint.pk,
        body=body,
        session_id=f"s{n}",
        remote_addr=None,
        content_type="application/json",
        user_agent="test",
    ).delivery_id


def _statuses() -> list[str]:
    return list(Delivery.objects.order_by("pk").values_list("status", flat=True))


# --- the web side: one publish per window ------------------------------------------------------


@pytest.fixture
def broker(settings: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Non-eager publishing through a recording ``apply_async`` and a fake clock."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ALARMHUB_WAKEUP_COALESCE_MS = 25
    clock = FakeClock()
    monkeypatch.setattr(tasks, "_wakeups", WakeupCoalescer(clock=clock))
    with mock.patch.object(tasks.process_delivery, "apply_async") as publish:
        publish.clock = clock
        yield publish


def test_deliveries_within_a_window_share_the_first_ones_task(broker: Any) -> None:
    assert tasks.wake_worker_for(1)
    broker.clock.now += 0.010
    assert tasks.wake_worker_for(2)
    broker.clock.now += 0.014
    assert tasks.wake_worker_for(3)

    assert [c.args[0] for c in broker.call_args_list] == [(1,)]
    assert broker.call_args.args[1]["settle_seconds"] == 0.025


def test_the_first_delivery_after_the_window_publishes_again(broker: Any) -> None:
    tasks.wake_worker_for(1)
    broker.clock.now += 0.026
    tasks.wake_worker_for(2)

    assert [c.args[0] for c in broker.call_args_list] == [(1,), (2,)]


def test_a_failed_publish_covers_nothing(broker: Any) -> None:
    broker.side_effect = [ConnectionError("broker down"), None]
    assert not tasks.wake_worker_for(1)  # the sweep will queue it
    assert tasks.wake_worker_for(2)

    assert [c.args[0] for c in broker.call_args_list] == [(1,), (2,)]


def test_a_zero_window_publishes_every_delivery_as_before(broker: Any, settings: Any) -> None:
    settings.ALARMHUB_WAKEUP_COALESCE_MS = 0
    with mock.patch.object(tasks.process_delivery, "delay") as delay:
        tasks.wake_worker_for(1)
        tasks.wake_worker_for(2)

    assert [c.args for c in delay.call_args_list] == [(1,), (2,)]
    broker.assert_not_called()


# --- the worker side: the drain keeps the promise ----------------------------------------------


def test_drain_processes_what_is_pending_in_full_batches_until_one_comes_back_short(
    endpoint: NewEndpoint,
) -> None:
    for n in range(12):
        _store(endpoint, n)

    clock = FakeClock()
    assert drain(limit=5, settle_until=clock.now, clock=clock, sleep=mock.Mock())

    assert _statuses() == [DeliveryStatus.PROCESSED] * 12


def test_a_delivery_committed_after_the_first_claim_but_inside_the_window_is_processed(
    endpoint: NewEndpoint,
) -> None:
    _store(endpoint, 1)
    clock = FakeClock()
    claims_began: list[float] = []
    real_run_pending = wakeups.run_pending

    def run_pending(**kwargs: Any) -> int:
        claims_began.append(clock.now)
        return real_run_pending(**kwargs)

    def sleep(seconds: float) -> None:
        # While the worker waits, a callback is stored and skips its publish (covered).
        _store(endpoint, 2)
        clock.now += seconds

    settle_until = clock.now + 0.025
    with mock.patch.object(wakeups, "run_pending", run_pending):
        assert drain(limit=5, settle_until=settle_until, clock=clock, sleep=sleep)

    assert _statuses() == [DeliveryStatus.PROCESSED] * 2
    assert claims_began[-1] >= settle_until


def test_a_claim_that_began_inside_the_window_is_never_the_last_one(endpoint: NewEndpoint) -> None:
    # The claim itself outlasts the window: it began too early to see a late commit.
    clock = FakeClock()
    real_run_pending = wakeups.run_pending
    begun: list[float] = []

    def slow_run_pending(**kwargs: Any) -> int:
        begun.append(clock.now)
        claimed = real_run_pending(**kwargs)
        if len(begun) == 1:
            _store(endpoint, 1)  # committed while the first claim was running
            clock.now += 0.1
        return claimed

    settle_until = clock.now + 0.025
    with mock.patch.object(wakeups, "run_pending", slow_run_pending):
        drain(limit=5, settle_until=settle_until, clock=clock, sleep=mock.Mock())

    assert _statuses() == [DeliveryStatus.PROCESSED]
    assert len(begun) == 2 and begun[-1] >= settle_until


def test_drain_stops_at_its_budget_and_says_more_is_pending(endpoint: NewEndpoint) -> None:
    for n in range(12):
        _store(endpoint, n)

    assert not drain(limit=5, settle_until=0.0, budget_seconds=0.0)

    assert _statuses().count(DeliveryStatus.PROCESSED) == 5
    assert _statuses().count(DeliveryStatus.PENDING) == 7


def test_a_transient_error_hands_the_claims_back_and_requeues_them(endpoint: NewEndpoint) -> None:
    ids = [_store(endpoint, n) for n in range(3)]
    requeued: list[list[int]] = []

    with (
        mock.patch.object(wakeups, "run_claimed", side_effect=OperationalError("gone")),
        pytest.raises(OperationalError),
    ):
        wakeups.run_pending(limit=5, requeue=requeued.append)

    assert requeued == [ids]


def test_the_task_drains_the_deliveries_its_window_covered(
    endpoint: NewEndpoint, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    first, *_ = [_store(endpoint, n) for n in range(4)]

    assert tasks.process_delivery.run(first, settle_seconds=0.01) == DeliveryStatus.PROCESSED
    assert _statuses() == [DeliveryStatus.PROCESSED] * 4


def test_a_task_out_of_budget_hands_over_to_a_fresh_one(
    endpoint: NewEndpoint, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.ALARMHUB_PROCESS_BATCH_SIZE = 2
    monkeypatch.setattr(wakeups, "DRAIN_BUDGET_SECONDS", 0.0)
    first, *_ = [_store(endpoint, n) for n in range(7)]

    with mock.patch.object(tasks.process_delivery, "apply_async") as publish:
        tasks.process_delivery.run(first)

    assert [c.args[0] for c in publish.call_args_list] == [(first,)]
    assert publish.call_args.args[1]["settle_seconds"] == 0.0
    assert DeliveryStatus.PENDING in _statuses()


def test_a_forged_settle_time_cannot_park_a_worker(endpoint: NewEndpoint, settings: Any) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    first = _store(endpoint, 1)
    with mock.patch.object(wakeups, "drain", return_value=True) as drained:
        tasks.process_delivery.run(first, settle_seconds=1e9)

    settle_until = drained.call_args.kwargs["settle_until"]
    assert settle_until - tasks.time.monotonic() <= 1.0


# --- how long a task waits: fresh wake-ups their window, stale ones nothing --------------------


@pytest.mark.parametrize(
    ("settle_seconds", "queued_for", "window"),
    [
        (0.025, 0.0, 0.025),  # fresh: wait out the window
        (0.025, 0.5, 0.025),  # within the clock-skew allowance: still wait
        (0.025, 5.0, 0.0),  # waited in a backlog: every covered delivery was long committed
        (0.0, 0.0, 0.0),
        (1e9, 0.0, wakeups.MAX_SETTLE_SECONDS),  # forged: capped
        (-3, 0.0, 0.0),
        (float("nan"), 0.0, wakeups.MAX_SETTLE_SECONDS),  # not a number: the safe maximum
        ("0.025", 0.0, wakeups.MAX_SETTLE_SECONDS),
    ],
)
def test_a_wake_up_waits_its_window_unless_it_is_stale(
    settle_seconds: object, queued_for: float, window: float
) -> None:
    now = 1_800_000_000.0
    assert wakeups.settle_window(settle_seconds, now - queued_for, now=now) == window


def test_a_message_without_a_publish_time_waits_its_window() -> None:
    assert wakeups.settle_window(0.0, None, now=0.0) == 0.0  # from before coalescing
    assert wakeups.settle_window(0.025, None, now=0.0) == 0.025
    assert wakeups.settle_window(0.025, "yesterday", now=0.0) == wakeups.MAX_SETTLE_SECONDS


def test_a_backlog_of_stale_wake_ups_does_not_park_the_worker(
    endpoint: NewEndpoint, settings: Any
) -> None:
    settings.CELERY_TASK_ALWAYS_EAGER = False
    first = _store(endpoint, 1)
    published_at = tasks.time.time()
    with (
        mock.patch.object(wakeups, "drain", return_value=True) as drained,
        mock.patch.object(tasks.time, "monotonic", return_value=100.0),
    ):
        tasks.process_delivery.run(first, settle_seconds=0.025, published_at=published_at)
        tasks.process_delivery.run(first, settle_seconds=0.025, published_at=published_at - 60)

    fresh, stale = (call.kwargs["settle_until"] for call in drained.call_args_list)
    assert (fresh, stale) == (100.025, 100.0)
