"""Escalation (issue 12, item 7): "if a firing alarm matching F is not acknowledged within N
seconds, send ``escalated`` to channel C".

Beat runs :func:`escalate_overdue_alarms` every minute. Idempotent: an alarm escalates to a
channel once (its outbox message for the ESCALATED event is the record), and an acknowledgement
or a recovery before the deadline cancels it, because only firing, unacknowledged alarms are
looked at.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from ..choices import AlarmStatus, EventType
from ..models import Alarm, AlarmEvent, Channel
from ..selectors.alarms import alarm_list_queryset
from .outbox import queue_messages

logger = logging.getLogger(__name__)

ESCALATED = "escalated"
# Per run and channel: a backlog drains over a few minutes instead of in one long task.
BATCH_SIZE = 500


def _escalating_channels() -> list[Channel]:
    channels = Channel.objects.filter(is_active=True, escalate_after_seconds__isnull=False)
    return [channel for channel in channels if ESCALATED in (channel.events or [])]


def overdue_for(channel: Channel, now: datetime) -> list[Alarm]:
    """Firing, unacknowledged alarms past the channel's deadline, not yet escalated to it.

    Only alarms whose deadline fell after the channel was created count: a new channel must not
    page someone for every alarm that has been firing for months.
    """
    assert channel.escalate_after_seconds is not None
    after = timedelta(seconds=channel.escalate_after_seconds)
    return list(
        alarm_list_queryset()
        .filter(
            status=AlarmStatus.FIRING,
            acknowledged_at__isnull=True,
            first_occurred_at__lte=now - after,
            first_occurred_at__gte=channel.created_at - after,
        )
        .exclude(outbound_messages__channel=channel, outbound_messages__event=ESCALATED)
        .order_by("first_occurred_at", "pk")[:BATCH_SIZE]
    )


def escalate_overdue_alarms(*, now: datetime | None = None) -> int:
    """Record an ESCALATED event and queue its messages for every overdue alarm; returns how
    many alarms escalated."""
    from ..notify.matching import alarm_matches

    now = now or timezone.now()
    due: dict[int, list[int]] = defaultdict(list)
    alarms: dict[int, Alarm] = {}
    for channel in _escalating_channels():
        for alarm in overdue_for(channel, now):
            if alarm_matches(alarm, channel.filter or {}):
                due[alarm.pk].append(channel.pk)
                alarms[alarm.pk] = alarm
    escalated = 0
    for alarm_id, channel_ids in due.items():
        escalated += int(escalate_alarm(alarm=alarms[alarm_id], channel_ids=channel_ids, now=now))
    return escalated


@transaction.atomic
def escalate_alarm(*, alarm: Alarm, channel_ids: list[int], now: datetime) -> bool:
    """Escalate one alarm to these channels, re-checked under the alarm's row lock (an operator
    may have acknowledged it meanwhile); False when there was nothing to do."""
    locked = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if locked.status != AlarmStatus.FIRING or locked.acknowledged_at is not None:
        return False
    pending = [
        pk
        for pk in channel_ids
        if not locked.outbound_messages.filter(channel_id=pk, event=ESCALATED).exists()
    ]
    if not pending:
        return False
    event = AlarmEvent.objects.create(
        alarm=locked, type=EventType.ESCALATED, details={"channels": pending}
    )
    if locked.escalated_at is None:
        locked.escalated_at = now
        locked.save(update_fields=["escalated_at", "updated_at"])
    # The listed instance carries policy and instance for the message's filter and snapshot.
    alarm.escalated_at = locked.escalated_at
    queue_messages(
        alarm=alarm, alarm_event=event, event=ESCALATED, only_channels=set(pending), now=now
    )
    logger.info("alarm %s escalated to channels %s", alarm.pk, pending)
    return True
