"""The outbox: messages are written in the same transaction as the alarm event that causes them,
once per channel and event, muted (not lost) by silences, and cost one query when no channel
wants the event. Escalation writes its own event and messages, once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms.choices import EventType, OutboundStatus
from alarms.models import Alarm, AlarmEvent, CallbackEndpoint, Channel, OutboundMessage, Silence
from alarms.services.escalation import escalate_overdue_alarms
from alarms.services.lifecycle import apply_notification
from alarms.services.operator import acknowledge_alarm
from tests.support.factories import make_delivery, make_endpoint, notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def ep() -> CallbackEndpoint:
    return make_endpoint(name="outbox").endpoint


def channel(name: str = "robot", *, age_minutes: int = 0, **extra: Any) -> Channel:
    fields: dict[str, Any] = {
        "name": name,
        "kind": "webhook",
        "url": "http://127.0.0.1:9/hook",
        "events": ["triggered", "repeated", "recovered", "acknowledged", "escalated"],
    }
    fields.update(extra)
    created = Channel.objects.create(**fields)
    if age_minutes:
        # created_at is auto_now_add: backdate it as if the channel had existed for a while.
        Channel.objects.filter(pk=created.pk).update(
            created_at=timezone.now() - timedelta(minutes=age_minutes)
        )
        created.refresh_from_db()
    return created


def apply(ep: CallbackEndpoint, **overrides: Any) -> Alarm:
    return apply_notification(
        endpoint=ep, notification=notification(**overrides), delivery=make_delivery(ep)
    ).alarm


def test_a_trigger_writes_one_pending_message_per_matching_channel(ep: CallbackEndpoint) -> None:
    cvm = channel("cvm", filter={"namespace": ["qce/cvm"]})
    everything = channel("all")
    channel("cdb", filter={"namespace": ["qce/cdb"]})
    channel("recoveries-only", events=["recovered"])
    channel("off", is_active=False)

    alarm = apply(ep)

    trigger = alarm.events.get(type=EventType.TRIGGERED)
    messages = OutboundMessage.objects.order_by("channel__name")
    assert [(m.channel, m.event, m.status, m.alarm_event) for m in messages] == [
        (everything, "triggered", OutboundStatus.PENDING, trigger),
        (cvm, "triggered", OutboundStatus.PENDING, trigger),
    ]


def test_messages_commit_and_roll_back_with_the_event(ep: CallbackEndpoint) -> None:
    channel()

    class Boom(Exception):
        pass

    with pytest.raises(Boom), transaction.atomic():
        apply(ep)
        assert OutboundMessage.objects.count() == 1
        raise Boom

    assert not AlarmEvent.objects.exists()
    assert not OutboundMessage.objects.exists()


def test_the_sender_is_published_only_after_commit(
    ep: CallbackEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    channel()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        apply(ep)
        # Inside the transaction the message is pending and nothing has tried to send it.
        message = OutboundMessage.objects.get()
        assert message.tries.count() == 0
    assert callbacks

    for callback in callbacks:
        callback()

    message.refresh_from_db()
    # Nothing listens on port 9: the send was tried (after commit) and will be retried.
    assert message.tries.count() == 1
    assert message.status == OutboundStatus.PENDING


def test_a_rerun_of_the_delivery_writes_no_second_message(ep: CallbackEndpoint) -> None:
    channel()
    delivery = make_delivery(ep)
    n = notification()

    apply_notification(endpoint=ep, notification=n, delivery=delivery)
    apply_notification(endpoint=ep, notification=n, delivery=delivery)

    assert OutboundMessage.objects.count() == 1


def test_repeat_and_recovery_each_write_their_message(ep: CallbackEndpoint) -> None:
    channel()
    apply(ep)
    apply(ep)
    apply(ep, status="recovered", duration_seconds=600)

    assert list(OutboundMessage.objects.order_by("pk").values_list("event", flat=True)) == [
        "triggered",
        "repeated",
        "recovered",
    ]


def test_a_second_recovery_of_the_same_alarm_sends_nothing(ep: CallbackEndpoint) -> None:
    # e.g. an Alertmanager group re-sent with the resolved alert in it again
    channel()
    apply(ep)
    apply(ep, status="recovered", duration_seconds=600)
    apply(ep, status="recovered", duration_seconds=660, session_id="again")

    assert list(OutboundMessage.objects.order_by("pk").values_list("event", flat=True)) == [
        "triggered",
        "recovered",
    ]


def test_a_late_trigger_of_a_recovered_alarm_sends_nothing(ep: CallbackEndpoint) -> None:
    channel()
    apply(ep, status="recovered", duration_seconds=600)
    apply(ep)

    assert list(OutboundMessage.objects.values_list("event", flat=True)) == ["recovered"]


def test_a_silence_mutes_messages_and_the_alarm_shows_it_once(ep: CallbackEndpoint) -> None:
    channel("one")
    channel("two")
    now = timezone.now()
    silence = Silence.objects.create(
        comment="maintenance",
        filter={"namespace": ["qce/cvm"]},
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )

    alarm = apply(ep)

    messages = list(OutboundMessage.objects.all())
    assert len(messages) == 2
    assert {(m.status, m.silence_id) for m in messages} == {(OutboundStatus.SILENCED, silence.pk)}
    # The lifecycle still records the trigger; one SILENCED entry stands for both channels.
    assert alarm.events.filter(type=EventType.TRIGGERED).count() == 1
    [muted] = alarm.events.filter(type=EventType.SILENCED)
    assert muted.details["silence_id"] == silence.pk
    assert muted.details["event"] == "triggered"


def test_a_silence_for_other_alarms_mutes_nothing(ep: CallbackEndpoint) -> None:
    channel()
    now = timezone.now()
    Silence.objects.create(
        filter={"namespace": ["qce/cdb"]},
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(hours=1),
    )

    alarm = apply(ep)

    assert OutboundMessage.objects.get().status == OutboundStatus.PENDING
    assert not alarm.events.filter(type=EventType.SILENCED).exists()


def test_acknowledging_writes_an_acknowledged_message_once(ep: CallbackEndpoint) -> None:
    channel(events=["acknowledged"])
    alarm = apply(ep)

    acknowledge_alarm(alarm=alarm, actor=None)
    acknowledge_alarm(alarm=alarm, actor=None)

    message = OutboundMessage.objects.get()
    assert message.event == "acknowledged"
    assert message.alarm_event == alarm.events.get(type=EventType.ACKNOWLEDGED)


def test_with_no_channel_the_outbox_costs_one_query(ep: CallbackEndpoint) -> None:
    apply(ep)
    with CaptureQueriesContext(connection) as ctx:
        apply(ep)

    outbox = [q["sql"] for q in ctx.captured_queries if "alarms_channel" in q["sql"]]
    assert len(outbox) == 1
    assert not [q for q in ctx.captured_queries if "outbound" in q["sql"] or "silence" in q["sql"]]


# --- escalation ----------------------------------------------------------------------------


def firing_since(ep: CallbackEndpoint, minutes: int, instance_id: str = "ins-1") -> Alarm:
    return apply(
        ep,
        first_occurred_at=timezone.now() - timedelta(minutes=minutes),
        instance_id=instance_id,
        dimensions={"unInstanceId": instance_id},
    )


def test_an_unacknowledged_alarm_escalates_once_after_the_deadline(ep: CallbackEndpoint) -> None:
    boss = channel("boss", events=["escalated"], escalate_after_seconds=600, age_minutes=60)
    overdue = firing_since(ep, 15, "ins-old")
    firing_since(ep, 5, "ins-new")

    assert escalate_overdue_alarms() == 1
    assert escalate_overdue_alarms() == 0

    overdue.refresh_from_db()
    assert overdue.escalated_at is not None
    [event] = overdue.events.filter(type=EventType.ESCALATED)
    [message] = OutboundMessage.objects.filter(event="escalated")
    assert (message.channel, message.alarm, message.alarm_event) == (boss, overdue, event)


def test_acknowledgement_or_recovery_cancels_escalation(ep: CallbackEndpoint) -> None:
    channel("boss", events=["escalated"], escalate_after_seconds=600, age_minutes=60)
    acknowledged = firing_since(ep, 15, "ins-ack")
    acknowledge_alarm(alarm=acknowledged, actor=None)
    recovered = firing_since(ep, 15, "ins-rec")
    apply(
        ep,
        status="recovered",
        first_occurred_at=recovered.first_occurred_at,
        instance_id="ins-rec",
        dimensions={"unInstanceId": "ins-rec"},
        duration_seconds=60,
    )

    assert escalate_overdue_alarms() == 0
    assert not OutboundMessage.objects.filter(event="escalated").exists()


def test_escalation_respects_the_channel_filter(ep: CallbackEndpoint) -> None:
    channel(
        "cdb-boss",
        events=["escalated"],
        escalate_after_seconds=600,
        filter={"namespace": ["qce/cdb"]},
        age_minutes=60,
    )
    firing_since(ep, 15)

    assert escalate_overdue_alarms() == 0


def test_a_new_channel_does_not_escalate_alarms_overdue_long_before_it_existed(
    ep: CallbackEndpoint,
) -> None:
    firing_since(ep, 24 * 60)
    channel("boss", events=["escalated"], escalate_after_seconds=600)

    assert escalate_overdue_alarms() == 0
