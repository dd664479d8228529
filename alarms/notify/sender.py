"""Sending one outbox message: claim, rate-limit, build, post, record the attempt, decide.

Unlike the rest of ``alarms.notify`` this module does I/O: the database (the outbox rows and the
channel's rate state) and, through :mod:`.transport`, the network; :mod:`.outbound` builds what
is sent. The Celery task ``alarms.tasks.send_outbound_message`` calls :func:`send_message` with a
message id; a rerun of a message that is no longer pending (or not yet due) does nothing.

- The claim is a compare-and-set (``pending`` → ``sending``); for robots it happens under the
  channel's row lock, together with taking a token from the vendor's rate limit, so that
  concurrent workers never send more than the limit allows.
- A message that finds no token is merged into the channel's pending digest (created when there
  is none, due when the bucket refills): overflow is summarised, never dropped, and never sent
  into a ban. A vendor "slow down" answer pauses the whole channel for a while.
- ``ok`` → ``sent``; ``transient`` → ``pending`` again with exponential backoff (at most
  :data:`MAX_ATTEMPTS` tries, then ``failed``); ``permanent`` → ``failed`` and the channel's
  ``last_error`` is set. Every try is an :class:`~alarms.models.OutboundAttempt`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..choices import OutboundStatus
from ..models import Alarm, Channel, OutboundAttempt, OutboundMessage
from .dispatch import enqueue_outbound_message
from .kinds import ROBOT_KINDS
from .outbound import EmailContent, build_outbound, load_alarms
from .ratelimit import RateLimiter, limiter_for
from .responses import Classification
from .transport import SendResult, post, send_email

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BACKOFF_BASE_SECONDS = 30
BACKOFF_MAX_SECONDS = 3600
# How long a vendor's "slow down" answer pauses the channel: DingTalk bans a robot for ten
# minutes after its 21st message in a minute; the others recover within their window.
RATE_LIMITED_PAUSE_SECONDS = {"dingtalk": 600, "wecom": 60, "feishu": 60}


# --- rate limits -------------------------------------------------------------------------------


def _instant(now: datetime) -> Fraction:
    # Exact microseconds: the token bucket must not round a send early.
    return Fraction(int(now.timestamp() * 1_000_000), 1_000_000)


def _limiter(channel: Channel) -> RateLimiter | None:
    state = channel.rate_state or {}
    try:
        return limiter_for(channel.kind, state.get("buckets"))
    except (ValueError, TypeError, ZeroDivisionError):
        # A stored state that no longer fits the limits (they changed): start afresh, full.
        return limiter_for(channel.kind)


def _paused_for(channel: Channel, now: datetime) -> float:
    until = (channel.rate_state or {}).get("paused_until")
    return max(float(until) - now.timestamp(), 0.0) if until else 0.0


def backoff_seconds(attempts: int) -> int:
    """30 s, 1 min, 2 min... capped at an hour: the wait after the ``attempts``-th try."""
    return int(min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_MAX_SECONDS))


# --- the flow ----------------------------------------------------------------------------------


def _claim(message_id: int, now: datetime) -> bool:
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    return bool(
        OutboundMessage.objects.filter(due, pk=message_id, status=OutboundStatus.PENDING).update(
            status=OutboundStatus.SENDING, status_changed_at=now
        )
    )


def _defer(message_id: int, wait: float, now: datetime) -> None:
    at = now + timedelta(seconds=max(wait, 0.001))
    OutboundMessage.objects.filter(pk=message_id).update(
        status=OutboundStatus.PENDING, next_attempt_at=at, status_changed_at=now
    )
    _enqueue_later(message_id, wait)


def _enqueue_later(message_id: int, wait: float) -> None:
    transaction.on_commit(lambda: enqueue_outbound_message(message_id, countdown=wait))


def _robot_gate(message: OutboundMessage, now: datetime) -> str | None:
    """Under the channel's row lock: claim, then spend a token or merge / defer.

    Returns None when the message may be sent now (claimed, token spent), else what happened.
    """
    with transaction.atomic():
        channel = Channel.objects.select_for_update().get(pk=message.channel_id)
        if not _claim(message.pk, now):
            return "skipped"
        limiter = _limiter(channel)
        assert limiter is not None
        paused = _paused_for(channel, now)
        open_digest = (
            None
            if message.is_digest or message.is_test
            else OutboundMessage.objects.filter(
                channel=channel, is_digest=True, status=OutboundStatus.PENDING
            )
            .order_by("pk")
            .first()
        )
        # With a digest already waiting, newer alarms join it rather than overtake it.
        if not paused and open_digest is None and limiter.try_take(_instant(now)):
            state = {**(channel.rate_state or {}), "buckets": limiter.state}
            Channel.objects.filter(pk=channel.pk).update(rate_state=state)
            return None
        wait = max(paused, limiter.wait_seconds(_instant(now)))
        Channel.objects.filter(pk=channel.pk).update(
            rate_state={**(channel.rate_state or {}), "buckets": limiter.state}
        )
        if message.is_digest or message.is_test:
            _defer(message.pk, wait, now)
            return "deferred"
        if open_digest is None:
            open_digest = OutboundMessage.objects.create(
                channel=channel,
                event="digest",
                is_digest=True,
                status=OutboundStatus.PENDING,
                next_attempt_at=now + timedelta(seconds=wait),
            )
            _enqueue_later(open_digest.pk, wait)
        OutboundMessage.objects.filter(pk=message.pk).update(
            status=OutboundStatus.MERGED, digest=open_digest, status_changed_at=now
        )
        return "merged"


def send_message(message_id: int, *, now: datetime | None = None) -> str:
    """Send one outbox message if it is pending and due; returns what happened.

    ``sent``, ``retry``, ``failed``, ``merged`` (into a digest), ``deferred`` (a digest or test
    waiting for a token) or ``skipped`` (not pending, not due, or gone: a rerun).
    """
    now = now or timezone.now()
    message = (
        OutboundMessage.objects.select_related("channel")
        .filter(pk=message_id, status=OutboundStatus.PENDING)
        .first()
    )
    if message is None:
        return "skipped"
    channel = message.channel
    if channel.kind in ROBOT_KINDS:
        gated = _robot_gate(message, now)
        if gated is not None:
            return gated
    elif not _claim(message.pk, now):
        return "skipped"
    # The token is spent; the claim is ours. Read what to say outside any lock.
    merged: list[Alarm] = []
    if message.is_digest:
        ids = list(message.merged.values_list("alarm_id", flat=True))
        loaded = load_alarms([pk for pk in ids if pk is not None])
        # Latest first would hide the order: keep the order they overflowed in.
        merged = [loaded[pk] for pk in dict.fromkeys(ids) if pk in loaded]
    if message.alarm_id is not None:
        message.alarm = load_alarms([message.alarm_id]).get(message.alarm_id)
    try:
        if message.is_digest and not merged:
            raise ValueError("the digest's alarms are gone")
        outbound = build_outbound(message, merged=merged, now=now)
    except (ValueError, KeyError) as exc:
        result = SendResult(None, Classification("permanent", str(exc)), str(exc), 0)
    else:
        if isinstance(outbound, EmailContent):
            result = send_email(outbound, channel)
        else:
            result = post(outbound, channel)
    return _finish(message, result, now)


def _finish(message: OutboundMessage, result: SendResult, now: datetime) -> str:
    outcome = result.classification.outcome
    attempts = message.attempts + 1
    with transaction.atomic():
        OutboundAttempt.objects.create(
            message=message,
            started_at=now,
            duration_ms=result.duration_ms,
            status_code=result.status_code,
            outcome=outcome,
            error=result.error,
        )
        updates: dict[str, Any] = {"attempts": attempts, "status_changed_at": now}
        if outcome == "ok":
            updates.update(status=OutboundStatus.SENT, sent_at=now, last_error="")
            verdict = "sent"
        elif outcome == "transient" and attempts < MAX_ATTEMPTS:
            wait = backoff_seconds(attempts)
            if result.status_code == 429 or "rate limited" in result.classification.reason:
                wait = max(wait, _pause_channel(message.channel, now))
            updates.update(
                status=OutboundStatus.PENDING,
                next_attempt_at=now + timedelta(seconds=wait),
                last_error=result.error,
            )
            _enqueue_later(message.pk, wait)
            verdict = "retry"
        else:
            updates.update(status=OutboundStatus.FAILED, last_error=result.error)
            Channel.objects.filter(pk=message.channel_id).update(
                last_error=result.error or result.classification.reason, last_error_at=now
            )
            verdict = "failed"
        # Conditional: only our own claim is finished (a sweep may have handed it back).
        OutboundMessage.objects.filter(pk=message.pk, status=OutboundStatus.SENDING).update(
            **updates
        )
    if verdict != "sent":
        logger.warning(
            "outbound message %s to channel %s: %s (%s)",
            message.pk,
            message.channel_id,
            verdict,
            result.classification.reason,
        )
    return verdict


def _pause_channel(channel: Channel, now: datetime) -> int:
    """The vendor said "slow down": no message to this robot for a while (DingTalk: a ban)."""
    pause = RATE_LIMITED_PAUSE_SECONDS.get(channel.kind, 60)
    with transaction.atomic():
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        state = {**(locked.rate_state or {}), "paused_until": now.timestamp() + pause}
        Channel.objects.filter(pk=channel.pk).update(rate_state=state)
    return pause
