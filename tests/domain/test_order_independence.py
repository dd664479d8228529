"""DESIGN §3.4: any permutation of the same set of deliveries ends in the same alarm state.

Hypothesis builds a small history (a few alarm identities, each with one to three occurrences
made of a trigger, repeats and a recovery), stores each notification as its own Delivery, and
applies them once in the order Tencent would have sent them and once shuffled, with some
deliveries applied twice (a rerun or a reprocess). Both runs must end in the same alarms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from alarms.models import Alarm, CallbackEndpoint
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import apply_notification
from alarms.sources.base import Notification
from tests.support.factories import DEFAULT_FIRST_OCCURRED_AT, make_delivery, notification

pytestmark = pytest.mark.django_db

PROJECTED_FIELDS = (
    "status",
    "recovered_at",
    "superseded",
    "trigger_seen",
    "notification_count",
    "current_value",
    "duration_seconds",
    "last_notified_at",
    "flapping",
)

INSTANCES = ("ins-aaaa0001", "ins-bbbb0002", "ins-cccc0003")
VALUES = ("91", "95.5", "99", "12.0", "0")


@dataclass(frozen=True)
class Push:
    """One notification and the moment Tencent would have sent it."""

    sent_at: datetime
    notification: Notification


@st.composite
def occurrence(draw: Callable[..., Any], instance_id: str, first: datetime) -> list[Push]:
    """Pushes of one lifecycle: trigger?, repeats, recovery (sometimes two, sometimes timeless)."""

    def push(status: str, duration: int, **extra: Any) -> Push:
        # Tencent gives every push its own sessionId; derive one so replays are deterministic.
        session_id = f"{instance_id}-{first:%H%M}-{status}-{duration}-{len(pushes)}"
        n = notification(
            session_id=session_id,
            status=status,
            first_occurred_at=first,
            duration_seconds=duration,
            current_value=draw(st.sampled_from(VALUES)),
            instance_id=instance_id,
            dimensions={"unInstanceId": instance_id},
            **extra,
        )
        return Push(sent_at=first + timedelta(seconds=duration), notification=n)

    pushes: list[Push] = []
    repeats = draw(st.lists(st.integers(1, 40), max_size=3, unique=True))
    if draw(st.booleans()) or not repeats:
        pushes.append(push("firing", 0))
    pushes += [push("firing", minutes * 60) for minutes in sorted(repeats)]
    last = max(repeats, default=0)
    recoveries = draw(st.lists(st.integers(last + 1, last + 60), max_size=2, unique=True))
    for minutes in recoveries:
        if draw(st.integers(0, 4)) == 0:
            # recoverTime "0" and durationTime 0: Tencent gave no recovery time at all.
            pushes.append(push("recovered", 0, recovered_at=None))
        else:
            pushes.append(push("recovered", minutes * 60))
    return pushes


@st.composite
def histories(draw: Callable[..., Any]) -> list[Push]:
    pushes: list[Push] = []
    for instance_id in INSTANCES[: draw(st.integers(2, 3))]:
        # Occurrences 0–150 minutes apart: close enough to supersede each other and to flap.
        offsets = draw(st.lists(st.integers(0, 5), min_size=1, max_size=3, unique=True))
        for offset in offsets:
            first = DEFAULT_FIRST_OCCURRED_AT + timedelta(minutes=30 * offset)
            pushes += draw(occurrence(instance_id, first))
    return pushes


@contextmanager
def rolled_back() -> Iterator[None]:
    """Everything written inside is undone, so each run starts from the same empty state."""
    savepoint = transaction.savepoint()
    try:
        yield
    finally:
        transaction.savepoint_rollback(savepoint)


def run(endpoint: CallbackEndpoint, pushes: list[Push], order: list[int]) -> dict[Any, Any]:
    with rolled_back():
        deliveries = [make_delivery(endpoint) for _ in pushes]
        for index in order:
            apply_notification(
                endpoint=endpoint,
                notification=pushes[index].notification,
                delivery=deliveries[index],
            )
        return {
            (row.pop("fingerprint"), row.pop("first_occurred_at")): row
            for row in Alarm.objects.values("fingerprint", "first_occurred_at", *PROJECTED_FIELDS)
        }


@pytest.fixture
def lifecycle_settings(settings: Any) -> None:
    # Two occurrences within an hour flap, so the generated histories exercise flapping too.
    settings.ALARMHUB_FLAPPING_EPISODES = 2
    settings.ALARMHUB_FLAPPING_WINDOW_SECONDS = 3600


@pytest.mark.usefixtures("lifecycle_settings")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), data=st.data())
def test_any_arrival_order_ends_in_the_same_alarm_state(
    endpoint: NewEndpoint, history: list[Push], data: st.DataObject
) -> None:
    in_order = sorted(
        range(len(history)),
        key=lambda i: (history[i].sent_at, history[i].notification.status == "recovered"),
    )
    reruns = data.draw(st.lists(st.sampled_from(range(len(history))), max_size=3), label="reruns")
    shuffled = data.draw(st.permutations(in_order + reruns), label="arrival order")

    expected = run(endpoint.endpoint, history, in_order)
    actual = run(endpoint.endpoint, history, shuffled)

    note(f"in order: {expected}")
    assert actual == expected
    # Sanity: every push counted once, whatever the order and the reruns.
    assert sum(row["notification_count"] for row in actual.values()) == len(history)
