"""Workers apply deliveries in batches (issue 16): a batch ends exactly where applying the same
deliveries one at a time would, and its failures stay as contained as single deliveries' were.
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import pairwise
from typing import Any
from unittest import mock

import pytest
from django.db import DatabaseError, OperationalError
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from alarms.choices import DeliveryStatus
from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Delivery, Instance, Policy
from alarms.pipeline import process
from alarms.pipeline.process import run_deliveries
from alarms.pipeline.store import store_delivery
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import Application, apply_notification, apply_notifications
from tests.domain.test_order_independence import (
    PROJECTED_FIELDS,
    Push,
    histories,
    lifecycle_settings,  # noqa: F401 (a fixture: two occurrences within an hour flap)
    rolled_back,
)
from tests.support.factories import encode, make_delivery, tencent_payload

pytestmark = pytest.mark.django_db

SNAPSHOT_FIELDS = (*PROJECTED_FIELDS, "level", "search_text", "snapshot_rank", "dimensions")


def _outcome(endpoint: CallbackEndpoint, pushes: list[Push], chunks: list[list[int]]) -> Any:
    """Apply ``chunks`` of pushes, each chunk as one batch; the alarms and their timelines."""
    with rolled_back():
        deliveries = [make_delivery(endpoint) for _ in pushes]
        position = {delivery.pk: index for index, delivery in enumerate(deliveries)}
        for chunk in chunks:
            apply_notifications(
                [Application(endpoint, pushes[i].notification, deliveries[i]) for i in chunk]
            )
        alarms = {alarm.pk: alarm for alarm in Alarm.objects.select_related("policy", "instance")}
        key = {pk: (a.fingerprint, a.first_occurred_at) for pk, a in alarms.items()}

        def timeline(alarm: Alarm) -> list[tuple[Any, ...]]:
            entries = []
            for event in AlarmEvent.objects.filter(alarm=alarm).order_by("id"):
                details = dict(event.details)
                if "by_alarm" in details:
                    details["by_alarm"] = key[details["by_alarm"]]
                delivery = position.get(event.delivery_id) if event.delivery_id else None
                entries.append((event.type, delivery, details))
            return entries

        return {
            key[pk]: (
                {name: getattr(alarm, name) for name in SNAPSHOT_FIELDS},
                alarm.policy.key if alarm.policy else None,
                alarm.instance.instance_id if alarm.instance else None,
                timeline(alarm),
            )
            for pk, alarm in alarms.items()
        }


@pytest.mark.usefixtures("lifecycle_settings")
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories(), data=st.data())
def test_a_batch_ends_where_one_at_a_time_ends_timelines_included(
    endpoint: NewEndpoint, history: list[Push], data: st.DataObject
) -> None:
    reruns = data.draw(st.lists(st.sampled_from(range(len(history))), max_size=3), label="reruns")
    order = data.draw(st.permutations(list(range(len(history))) + reruns), label="arrival order")
    cuts = data.draw(st.sets(st.integers(1, max(len(order) - 1, 1))), label="batch boundaries")
    bounds = [0, *sorted(c for c in cuts if c < len(order)), len(order)]
    chunks = [order[a:b] for a, b in pairwise(bounds) if b > a]

    one_at_a_time = _outcome(endpoint.endpoint, history, [[i] for i in order])
    batched = _outcome(endpoint.endpoint, history, chunks)

    note(f"batches: {chunks}")
    assert batched == one_at_a_time


def test_one_batch_writes_an_existing_policy_and_instance_only_when_they_change(
    endpoint: NewEndpoint,
) -> None:
    from tests.support.factories import notification

    first = notification(session_id="a", instance_id="ins-1", policy_name="CPU high")
    apply_notification(endpoint=endpoint.endpoint, notification=first)
    policy, instance = Policy.objects.get(), Instance.objects.get()

    renamed = notification(
        session_id="b", instance_id="ins-1", policy_name="CPU very high", duration_seconds=300
    )
    apply_notifications([Application(endpoint.endpoint, renamed)])

    assert Policy.objects.get().name == "CPU very high"
    assert Policy.objects.get().pk == policy.pk
    assert Instance.objects.get().pk == instance.pk
    assert Alarm.objects.get().notification_count == 2


# --- the pipeline: claiming and failures ------------------------------------------------------


def _stored(endpoint: NewEndpoint, **payload: Any) -> int:
    return store_delivery(
        endpoint_id=endpoint.endpoint.pk,
        body=encode(tencent_payload(**payload)),
        session_id="",
        remote_addr=None,
        content_type="application/json",
        user_agent="",
    ).delivery_id


def _status(delivery_id: int) -> str:
    return Delivery.objects.get(pk=delivery_id).status


def test_a_task_drains_what_is_pending_in_one_batch(endpoint: NewEndpoint) -> None:
    ids = [_stored(endpoint, instance_id=f"ins-{i}") for i in range(5)]

    assert run_deliveries(ids[2], limit=10) == DeliveryStatus.PROCESSED

    assert [_status(pk) for pk in ids] == [DeliveryStatus.PROCESSED] * 5
    assert Alarm.objects.count() == 5
    # The other deliveries' own tasks find nothing left to do.
    assert run_deliveries(ids[0], limit=10) == process.SKIPPED


def test_a_batch_takes_at_most_its_limit_oldest_first(endpoint: NewEndpoint) -> None:
    ids = [_stored(endpoint, instance_id=f"ins-{i}") for i in range(5)]

    run_deliveries(ids[4], limit=3)

    statuses = [_status(pk) for pk in ids]
    assert statuses == [DeliveryStatus.PROCESSED] * 2 + [DeliveryStatus.PENDING] * 2 + [
        DeliveryStatus.PROCESSED
    ]


def test_an_unreadable_body_fails_alone_and_the_rest_of_its_batch_goes_through(
    endpoint: NewEndpoint,
) -> None:
    good = _stored(endpoint, instance_id="ins-good")
    bad = _stored(endpoint, alarmStatus="maybe")

    assert run_deliveries(good, limit=10) == DeliveryStatus.PROCESSED

    assert _status(bad) == DeliveryStatus.FAILED
    assert "alarmStatus" in Delivery.objects.get(pk=bad).error
    assert Alarm.objects.count() == 1


def _failing_for(instance_id: str, error: Exception) -> Callable[..., Any]:
    real = apply_notifications

    def apply(applications: list[Application]) -> Any:
        if any(app.notification.instance_id == instance_id for app in applications):
            raise error
        return real(applications)

    return apply


def test_a_batch_broken_by_one_delivery_is_retried_one_at_a_time(endpoint: NewEndpoint) -> None:
    ids = [_stored(endpoint, instance_id=f"ins-{i}") for i in range(4)]
    poison = _stored(endpoint, instance_id="ins-poison")

    with mock.patch.object(
        process, "apply_notifications", _failing_for("ins-poison", DatabaseError("value too long"))
    ):
        assert run_deliveries(ids[0], limit=10) == DeliveryStatus.PROCESSED

    assert [_status(pk) for pk in ids] == [DeliveryStatus.PROCESSED] * 4
    assert _status(poison) == DeliveryStatus.FAILED
    assert "value too long" in Delivery.objects.get(pk=poison).error
    assert Alarm.objects.count() == 4


def test_a_transient_error_hands_the_whole_batch_back_and_requeues_the_others(
    endpoint: NewEndpoint,
) -> None:
    ids = [_stored(endpoint, instance_id=f"ins-{i}") for i in range(3)]
    requeued: list[list[int]] = []

    with (
        mock.patch.object(
            process, "apply_notifications", _failing_for("ins-1", OperationalError("gone"))
        ),
        pytest.raises(OperationalError),
    ):
        run_deliveries(ids[0], limit=10, requeue=requeued.append)

    assert [_status(pk) for pk in ids] == [DeliveryStatus.PENDING] * 3
    assert requeued == [ids[1:]]
    assert not Alarm.objects.exists()


def test_a_delivery_tried_before_is_claimed_alone(endpoint: NewEndpoint) -> None:
    retried = _stored(endpoint, instance_id="ins-retried")
    Delivery.objects.filter(pk=retried).update(attempts=1)  # its worker died mid-batch
    fresh = _stored(endpoint, instance_id="ins-fresh")

    assert run_deliveries(retried, limit=10) == DeliveryStatus.PROCESSED

    assert _status(fresh) == DeliveryStatus.PENDING
    # A fresh delivery's batch never picks up one that was tried before either.
    Delivery.objects.filter(pk=retried).update(status=DeliveryStatus.PENDING)
    assert run_deliveries(fresh, limit=10) == DeliveryStatus.PROCESSED
    assert _status(retried) == DeliveryStatus.PENDING


def test_the_lifecycle_writes_the_search_text_that_names_policy_and_instance(
    endpoint: NewEndpoint,
) -> None:
    from alarms.selectors.alarms import search_alarms
    from tests.support.factories import notification

    n = notification(session_id="a", instance_id="ins-名字", policy_name="磁盘告警策略")
    alarm = apply_notification(endpoint=endpoint.endpoint, notification=n).alarm

    assert alarm.search_text.startswith("\x1f")  # the full format: no legacy look-up needed
    for term in ("磁盘告警", "ins-名字", n.policy_id):
        assert list(search_alarms(Alarm.objects.all(), term)) == [alarm], term


def test_a_soft_time_limit_hands_the_batch_back_instead_of_failing_it(
    endpoint: NewEndpoint,
) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    ids = [_stored(endpoint, instance_id=f"ins-{i}") for i in range(3)]

    with (
        mock.patch.object(
            process, "apply_notifications", _failing_for("ins-1", SoftTimeLimitExceeded())
        ),
        pytest.raises(SoftTimeLimitExceeded),
    ):
        run_deliveries(ids[0], limit=10)

    # Not the payloads' fault: nothing is marked failed; the sweep queues them again.
    assert [_status(pk) for pk in ids] == [DeliveryStatus.PENDING] * 3


def test_a_big_batch_commits_in_chunks_of_whole_deliveries(
    endpoint: NewEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(process, "MAX_NOTIFICATIONS_PER_TRANSACTION", 2)
    ids = [_stored(endpoint, instance_id=f"ins-{i}") for i in range(5)]
    poison = _stored(endpoint, instance_id="ins-poison")
    sizes: list[int] = []
    real = _failing_for("ins-poison", DatabaseError("value too long"))

    def apply(applications: list[Application]) -> Any:
        sizes.append(len(applications))
        return real(applications)

    with mock.patch.object(process, "apply_notifications", apply):
        assert run_deliveries(ids[0], limit=10) == DeliveryStatus.PROCESSED

    assert max(sizes) <= 2
    assert [_status(pk) for pk in ids] == [DeliveryStatus.PROCESSED] * 5
    assert _status(poison) == DeliveryStatus.FAILED
    assert Alarm.objects.count() == 5


def test_an_error_text_with_a_nul_is_stored_without_it(endpoint: NewEndpoint) -> None:
    from alarms.pipeline.claims import finish

    delivery = _stored(endpoint)
    finish(delivery, DeliveryStatus.FAILED, error="internal error: bad \x00 byte")

    assert "\x00" not in Delivery.objects.get(pk=delivery).error
