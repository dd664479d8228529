"""What an outbox message says and where it goes: links, alarm snapshots and the request.

Split from :mod:`alarms.notify.sender`. Unlike the pure builders in ``alarms.notify`` this reads
the database (the alarms a message is about) and the settings (base URL, time zone); it never
touches the network. :func:`build_outbound` turns one message into the exact HTTP request (its
body bytes signed) or, for an email channel, the mail to send.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from ..choices import ChannelKind
from ..models import Alarm, Channel, OutboundMessage
from .digest import build_digest_request, render_digest
from .formats import (
    JSON_CONTENT_TYPE,
    USER_AGENT,
    OutboundRequest,
    build_request,
    build_robot_request,
    json_bytes,
    utc_iso,
)
from .kinds import ROBOT_KINDS
from .message import EVENTS, Event, OutboundAlarm, RenderedMessage, render_message
from .signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, webhook_signature

# --- links and snapshots -------------------------------------------------------------------------


def absolute_url(path: str) -> str:
    """``ALARMHUB_BASE_URL`` + ``path``."""
    base: str = settings.ALARMHUB_BASE_URL
    return base.rstrip("/") + "/" + path.lstrip("/")


def alarm_page_url(alarm_id: int) -> str:
    """The absolute link to an alarm's console page."""
    return absolute_url(reverse("alarms:alarm", args=[alarm_id]))


def outbound_alarm(alarm: Alarm) -> OutboundAlarm:
    """The alarm as messages see it: the REST API's alarm JSON (DESIGN §4) plus its link.

    ``alarm`` should come from ``alarm_list_queryset()`` (policy, instance and users joined).
    """
    from ..api.serializers import AlarmSerializer

    # `request: None` makes DRF render the API link as a path; it is made absolute here.
    fields: dict[str, Any] = dict(AlarmSerializer(alarm, context={"request": None}).data)
    if fields.get("url"):
        fields["url"] = absolute_url(str(fields["url"]))
    return OutboundAlarm.from_fields(fields, url=alarm_page_url(alarm.pk))


def load_alarms(alarm_ids: Sequence[int]) -> dict[int, Alarm]:
    from ..selectors.alarms import alarm_list_queryset

    return {alarm.pk: alarm for alarm in alarm_list_queryset().filter(pk__in=alarm_ids)}


def _test_message(channel: Channel) -> RenderedMessage:
    english = channel.language == "en"
    title = "AlarmHub test message" if english else "AlarmHub 测试消息"
    body = (
        "This channel works: alarm messages will arrive here."
        if english
        else "此通道可用：告警消息将发送到这里。"
    )
    return RenderedMessage(
        title=title,
        lines=(f"**{title}**", body),
        link_text="Open AlarmHub" if english else "打开 AlarmHub",
        url=absolute_url("/"),
        tone="info",
    )


# --- the request -------------------------------------------------------------------------------


@dataclass(frozen=True)
class EmailContent:
    subject: str
    body: str
    to: list[str]


def _plain(message: RenderedMessage) -> str:
    lines = [line.replace("**", "") for line in message.lines]
    return "\n".join([*lines, "", f"{message.link_text}: {message.url}"])


def _message_text(
    message: OutboundMessage, merged: Sequence[Alarm], now: datetime
) -> RenderedMessage:
    """The title and body of a test, a digest or one alarm's event (emails use it as text)."""
    channel = message.channel
    if message.is_test:
        return _test_message(channel)
    if message.is_digest:
        return render_digest(
            [outbound_alarm(alarm) for alarm in merged],
            base_url=settings.ALARMHUB_BASE_URL,
            language=channel.language,
        )
    if message.event not in EVENTS or message.alarm is None:
        raise ValueError(f"cannot send event {message.event!r} without an alarm")
    event: Event = message.event  # type: ignore[assignment]
    return render_message(
        outbound_alarm(message.alarm),
        event,
        language=channel.language,
        tz=settings.TIME_ZONE,
        now=now,
    )


def build_outbound(
    message: OutboundMessage, *, merged: Sequence[Alarm] = (), now: datetime
) -> OutboundRequest | EmailContent:
    """The request (or email) for one message; ``merged`` are a digest's alarms."""
    channel = message.channel
    if channel.kind == ChannelKind.EMAIL:
        from ..services.channels import email_addresses

        text = _message_text(message, merged, now)
        return EmailContent(subject=text.title, body=_plain(text), to=email_addresses(channel.url))
    if message.is_test:
        if channel.kind == ChannelKind.WEBHOOK:
            return _webhook_test_request(channel, now=now)
        return build_robot_request(
            channel.kind, _test_message(channel), url=channel.url, secret=channel.secret, now=now
        )
    if message.is_digest:
        if channel.kind not in ROBOT_KINDS:  # pragma: no cover - only robots overflow
            raise ValueError("digests are for robot channels")
        return build_digest_request(
            channel.kind,
            [outbound_alarm(alarm) for alarm in merged],
            url=channel.url,
            secret=channel.secret,
            now=now,
            base_url=settings.ALARMHUB_BASE_URL,
            language=channel.language,
        )
    if message.event not in EVENTS or message.alarm is None:
        raise ValueError(f"cannot send event {message.event!r} without an alarm")
    event: Event = message.event  # type: ignore[assignment]
    return build_request(
        channel.kind,
        outbound_alarm(message.alarm),
        event,
        url=channel.url,
        secret=channel.secret,
        now=now,
        language=channel.language,
        tz=settings.TIME_ZONE,
    )


def _webhook_test_request(channel: Channel, *, now: datetime) -> OutboundRequest:
    """A signed webhook with ``event: "test"`` and no alarm, so receivers can tell it apart."""
    body = json_bytes(
        {"event": "test", "alarm": None, "url": absolute_url("/"), "sent_at": utc_iso(now)}
    )
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": JSON_CONTENT_TYPE,
        "User-Agent": USER_AGENT,
        "X-AlarmHub-Event": "test",
        TIMESTAMP_HEADER: str(timestamp),
    }
    if channel.secret:
        headers[SIGNATURE_HEADER] = webhook_signature(channel.secret, timestamp, body)
    return OutboundRequest("POST", channel.url, headers, body)
