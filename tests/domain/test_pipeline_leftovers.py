"""Review leftovers of the batch pipeline (issue 16): a batch writes the same timelines as one
delivery at a time, silenced entries included; a payload integer too big for its column costs
the field, never the delivery; a batch's failed deliveries are marked with one statement.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms.choices import DeliveryStatus, EventType
from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Channel, Delivery, Silence
from alarms.pipeline.process import process_claimed, run_deliveries
from alarms.pipeline.store import store_delivery
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import Application, apply_notifications
from alarms.sources.base import Notification
from tests.domain.test_order_independence import rolled_back
from tests.support.factories import encode, make_delivery, notification, tencent_payload

pytestmark = pytest.mark.django_db


# --- 1. SILENCED entries sit where one-at-a-time processing puts them --------------------------


def _muted_world() -> None:
    Channel.objects.create(
        name="robot",
        kind="webhook",
        url="http://127.0.0.1:9/hook",
        events=["triggered", "repeated"],
    )
    now = timezone.now()
    Silence.objects.create(
        comment="maintenance",
        filter={"namespace": ["qce/cvm"]},
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )


def _timeline(
    endpoint: CallbackEndpoint, pushes: list[Notification], chunks: list[list[int]]
) -> Any:
    """The one alarm's timeline after applying ``chunks`` of pushes, each chunk as one batch;
    event ids in details are replaced by the position of the event they name."""
    with rolled_back():
        deliveries = [make_delivery(endpoint) for _ in pushes]
        position = {delivery.pk: index for index, delivery in enumerate(deliveries)}
        for chunk in chunks:
            apply_notifications([Application(endpoint, pushes[i], deliveries[i]) for i in chunk])
        events = list(
            AlarmEvent.objects.filter(alarm=Alarm.objects.get()).order_by("occurred_at", "id")
        )
        index = {event.pk: i for i, event in enumerate(events)}
        entries = []
        for event in events:
            details = dict(event.details)
            if "event_id" in details:
                details["event_id"] = index.get(details["event_id"], "elsewhere")
            delivery = position.get(event.delivery_id) if event.delivery_id else None
            entries.append((event.type, delivery, details))
        return entries


def test_a_muted_alarm_pushed_twice_in_one_batch_has_the_one_at_a_time_timeline(
    endpoint: NewEndpoint,
) -> None:
    _muted_world()  # once: both runs name the same silence and channel
    trigger = notification(session_id="a", duration_seconds=0)
    repeat = notification(session_id="b", duration_seconds=300)

    one_at_a_time = _timeline(endpoint.endpoint, [trigger, repeat], [[0], [1]])
    batched = _timeline(endpoint.endpoint, [trigger, repeat], [[0, 1]])

    assert [entry[0] for entry in one_at_a_time] == [
        EventType.TRIGGERED,
        EventType.SILENCED,
        EventType.REPEATED,
        EventType.SILENCED,
    ]
    # Each SILENCED entry names the event it muted: the one just before it.
    assert [entry[2]["event_id"] for entry in one_at_a_time if entry[0] == EventType.SILENCED] == [
        0,
        2,
    ]
    assert batched == one_at_a_time


# --- 3. payload integers beyond their column ---------------------------------------------------


def _stored(endpoint: NewEndpoint, payload: dict[str, Any]) -> int:
    return store_delivery(
        endpoint_id=endpoint.endpoint.pk,
        body=encode(payload),
        session_id="",
        remote_addr=None,
        content_type="application/json",
        user_agent="",
    ).delivery_id


def _with_period(payload: dict[str, Any], period: Any) -> dict[str, Any]:
    payload["alarmPolicyInfo"]["conditions"]["period"] = period
    return payload


@pytest.mark.parametrize("period", [2**31, "3000000000", 2**31 - 1])
def test_a_period_too_big_for_its_column_is_unknown_and_the_delivery_goes_through(
    endpoint: NewEndpoint, period: Any
) -> None:
    fine = _stored(endpoint, tencent_payload(instance_id="ins-fine"))
    huge = _stored(endpoint, _with_period(tencent_payload(instance_id="ins-huge"), period))

    assert run_deliveries(fine, limit=10) == DeliveryStatus.PROCESSED

    assert Delivery.objects.get(pk=huge).status == DeliveryStatus.PROCESSED
    alarm = Alarm.objects.get(instance__instance_id="ins-huge")
    if int(period) < 2**31:
        assert alarm.period_seconds == int(period)  # the largest value the column holds
    else:
        assert alarm.period_seconds is None
        # Not lost: the value Tencent sent stays with the alarm's extras.
        assert alarm.extras["alarmPolicyInfo"]["conditions"]["period"] == period


def test_the_longest_duration_the_parser_accepts_fits_its_column(endpoint: NewEndpoint) -> None:
    from alarms.sources.tencent.values import MAX_SECONDS

    delivery = _stored(endpoint, tencent_payload(duration=MAX_SECONDS))

    assert run_deliveries(delivery, limit=1) == DeliveryStatus.PROCESSED
    assert Alarm.objects.get().duration_seconds == MAX_SECONDS


def test_a_duration_running_past_the_calendar_still_makes_an_alarm(endpoint: NewEndpoint) -> None:
    delivery = _stored(
        endpoint, tencent_payload(first_occur="9999-12-30 00:00:00", duration=3_000_000_000)
    )

    assert run_deliveries(delivery, limit=1) == DeliveryStatus.PROCESSED
    alarm = Alarm.objects.get()
    assert alarm.duration_seconds == 3_000_000_000
    # The push time cannot be computed: the first occurrence stands in for it.
    assert alarm.last_notified_at == alarm.first_occurred_at


@pytest.mark.parametrize("period", [2**31, 2**63])
def test_any_source_s_integer_beyond_its_column_is_stored_as_unknown(
    endpoint: NewEndpoint, period: int
) -> None:
    # Not through the Tencent parser (it bounds the period itself): another source might not.
    n = notification(period_seconds=period)

    [result] = apply_notifications(
        [Application(endpoint.endpoint, n, make_delivery(endpoint.endpoint))]
    )

    alarm = Alarm.objects.get(pk=result.alarm.pk)
    assert alarm.period_seconds is None
    assert alarm.notification_count == 1


# --- 4. a batch's failed deliveries: one UPDATE --------------------------------------------------


def test_a_batchs_unreadable_bodies_are_marked_failed_with_one_statement(
    endpoint: NewEndpoint,
) -> None:
    bad = [
        _stored(endpoint, tencent_payload(instance_id=f"ins-{i}", status="maybe")) for i in range(3)
    ]
    empty = _stored(endpoint, {"alarmType": "metric"})
    ids = [*bad, empty]
    Delivery.objects.filter(pk__in=ids).update(status=DeliveryStatus.PROCESSING)

    with CaptureQueriesContext(connection) as queries:
        statuses = process_claimed(ids)

    assert statuses == dict.fromkeys(ids, DeliveryStatus.FAILED)
    updates = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1
    # Each keeps its own reason.
    errors = dict(Delivery.objects.filter(pk__in=ids).values_list("pk", "error"))
    assert all(errors[pk].startswith("alarmStatus must be") for pk in bad)
    assert errors[empty].startswith("not a Tencent alarm")
