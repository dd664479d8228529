"""The outbox (DESIGN §6 "Channels"): a message row per channel, written in the same
transaction as the alarm event that causes it, and published to the sender after commit.

A lost publish (Redis down, worker killed) loses nothing: the row is on disk, and
:func:`requeue_due_messages` (run by the beat sweep) publishes it again.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import EventType, OutboundStatus
from ..models import Alarm, AlarmEvent, Channel, OutboundMessage, Silence
from ..notify.dispatch import enqueue_outbound_message

logger = logging.getLogger(__name__)

# A message "sending" this long after its claim belongs to a dead worker (the send itself times
# out after a few seconds).
STUCK_SENDING_SECONDS = 300


def _active_channels() -> list[Channel]:
    """Active channels: one query on a small table (``events`` is JSON, read in Python: SQLite
    has no JSON containment lookup). The whole cost of the outbox on the lifecycle's hot path
    when no channel is configured."""
    return list(Channel.objects.filter(is_active=True).only("id", "events", "filter"))


@dataclass(frozen=True)
class Announcement:
    """An alarm event that channels may want to hear about."""

    alarm: Alarm  # the row the messages belong to
    as_applied: Alarm  # its state when the event happened: channel and silence filters read it
    event: AlarmEvent
    kind: str  # the event type


def queue_messages(
    *,
    alarm: Alarm,
    alarm_event: AlarmEvent,
    event: str,
    only_channels: Collection[int] | None = None,
    now: datetime | None = None,
) -> list[OutboundMessage]:
    """Write one message per active channel that wants ``event`` and whose filter matches.

    Call inside the transaction that recorded ``alarm_event``: the messages commit (or roll back)
    with it, and are published to the sender only after the commit. While a silence is in force
    the messages are written as ``silenced`` (kept, never sent) and the alarm's timeline gets
    one SILENCED event. ``only_channels`` narrows the candidates (escalation picks its own).
    """
    return announce(
        [Announcement(alarm=alarm, as_applied=alarm, event=alarm_event, kind=event)],
        now=now or timezone.now(),
        only_channels=only_channels,
    )


def announce(
    announcements: Sequence[Announcement],
    *,
    now: datetime,
    only_channels: Collection[int] | None = None,
) -> list[OutboundMessage]:
    """``queue_messages`` for many events at once, their events already saved: the channels
    and the silences are read once, the messages and SILENCED events written with one INSERT
    each."""
    routes = route(announcements, now=now, only_channels=only_channels)
    AlarmEvent.objects.bulk_create(r.silenced_event for r in routes if r.silenced_event)
    return write_messages(routes, now=now)


@dataclass(frozen=True)
class Route:
    """The channels that hear an announcement, and the silence muting them (if one is in force)
    with the timeline entry that says so (not saved yet)."""

    announcement: Announcement
    channel_ids: list[int]
    silence: Silence | None
    silenced_event: AlarmEvent | None


def route(
    announcements: Sequence[Announcement],
    *,
    now: datetime,
    only_channels: Collection[int] | None = None,
) -> list[Route]:
    """Decide who hears each announcement; reads channels once and silences at most once.

    Needs the alarms' ids, not the events': a batch saves the SILENCED entries together with its
    other events, each right after the event it mutes, as one delivery at a time would
    (``write_messages`` then names the muted event in them).
    """
    if not announcements:
        return []
    channels = _active_channels()
    if only_channels is not None:
        channels = [channel for channel in channels if channel.pk in only_channels]
    if not channels:
        return []
    from ..notify.matching import alarm_matches
    from .silences import first_in_force, silences_possibly_in_force

    silences: list[Silence] | None = None
    routes: list[Route] = []
    for announcement in announcements:
        state = announcement.as_applied
        state.pk = announcement.alarm.pk  # a new alarm got its id after the state was taken
        matching = [
            channel.pk
            for channel in channels
            if announcement.kind in (channel.events or [])
            and alarm_matches(state, channel.filter or {})
        ]
        if not matching:
            continue
        if silences is None:
            silences = list(silences_possibly_in_force(now))
        silence = first_in_force(state, silences, now=now)
        # One timeline entry per muted event (not per channel): the alarm shows it was silenced.
        silenced_event = (
            None
            if silence is None
            else AlarmEvent(
                alarm=announcement.alarm,
                type=EventType.SILENCED,
                details={
                    "silence_id": silence.pk,
                    "event": announcement.kind,
                    "event_id": announcement.event.pk,
                    "channels": matching,
                },
            )
        )
        routes.append(Route(announcement, matching, silence, silenced_event))
    return routes


def write_messages(routes: Sequence[Route], *, now: datetime) -> list[OutboundMessage]:
    """Write the routed messages (their events and SILENCED entries saved) with one INSERT."""
    # SILENCED entries saved with the events they mute learn those events' ids only now.
    unnamed = [
        r.silenced_event
        for r in routes
        if r.silenced_event is not None and r.silenced_event.details["event_id"] is None
    ]
    for r in routes:
        if r.silenced_event is not None:
            r.silenced_event.details["event_id"] = r.announcement.event.pk
    if unnamed:
        AlarmEvent.objects.bulk_update(unnamed, ["details"])
    messages = [
        OutboundMessage(
            channel_id=channel_id,
            alarm=r.announcement.alarm,
            alarm_event=r.announcement.event,
            event=r.announcement.kind,
            status=OutboundStatus.SILENCED if r.silence else OutboundStatus.PENDING,
            silence=r.silence,
            next_attempt_at=None if r.silence else now,
        )
        for r in routes
        for channel_id in r.channel_ids
    ]
    OutboundMessage.objects.bulk_create(messages)
    enqueue_after_commit(m.pk for m in messages if m.status == OutboundStatus.PENDING)
    return messages


def enqueue_after_commit(message_ids: Iterable[int]) -> None:
    """Publish the sender task for each message once the current transaction commits."""
    ids = list(message_ids)
    if not ids:
        return
    transaction.on_commit(lambda: [enqueue_outbound_message(pk) for pk in ids])


@dataclass(frozen=True)
class OutboxSweepResult:
    requeued: int
    unstuck: int


def requeue_due_messages(*, now: datetime | None = None, limit: int = 5000) -> OutboxSweepResult:
    """Publish again what a lost queue message left behind; hand back dead workers' claims.

    Due ``pending`` messages are re-published once they have been due for
    ``ALARMHUB_REQUEUE_AFTER_SECONDS`` (a fresh one is already on its way); ``sending`` ones
    claimed over :data:`STUCK_SENDING_SECONDS` ago go back to ``pending`` first.
    """
    now = now or timezone.now()
    unstuck = OutboundMessage.objects.filter(
        status=OutboundStatus.SENDING,
        status_changed_at__lt=now - timedelta(seconds=STUCK_SENDING_SECONDS),
    ).update(status=OutboundStatus.PENDING, status_changed_at=now, next_attempt_at=now)
    cutoff = now - timedelta(seconds=settings.ALARMHUB_REQUEUE_AFTER_SECONDS)
    # Served by the partial index outbound_due_idx (status in pending/sending, next_attempt_at).
    due = OutboundMessage.objects.filter(
        Q(next_attempt_at__lte=cutoff) | Q(next_attempt_at__isnull=True),
        status=OutboundStatus.PENDING,
    ).order_by("next_attempt_at")
    ids = list(due.values_list("pk", flat=True)[:limit])
    if unstuck:
        ids += list(
            OutboundMessage.objects.filter(
                status=OutboundStatus.PENDING, status_changed_at=now, next_attempt_at=now
            ).values_list("pk", flat=True)[:limit]
        )
    ids = sorted(set(ids))
    failures = sum(0 if enqueue_outbound_message(pk) else 1 for pk in ids)
    if ids:
        logger.info(
            "re-queued %d outbound messages (%d publish failures, %d unstuck)",
            len(ids),
            failures,
            unstuck,
        )
    return OutboxSweepResult(requeued=len(ids) - failures, unstuck=unstuck)
