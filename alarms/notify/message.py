"""What an outbound message says: the alarm snapshot, and its title and markdown body.

Everything here is pure. :class:`OutboundAlarm` is the snapshot the outbox keeps for one message;
:func:`render_message` turns it into a plain-text title and markdown lines in Chinese or English.
Every piece of payload text goes through :mod:`alarms.notify.escaping` before it lands in the
message; times and durations are shown by :mod:`alarms.notify.timefmt`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal, get_args

from alarms.notify.escaping import escape_markdown, plain_text, safe_url
from alarms.notify.timefmt import (
    DEFAULT_TZ,
    Language,
    format_duration,
    format_time,
    normalise_language,
)
from alarms.sources.base import Kind, Status

Event = Literal["triggered", "repeated", "recovered", "acknowledged", "escalated"]
Tone = Literal["danger", "warning", "notice", "ok", "info"]

EVENTS: tuple[str, ...] = get_args(Event)


@dataclass(frozen=True, kw_only=True)
class OutboundAlarm:
    """The alarm as one outbound message sees it: a snapshot, taken when the event happened.

    ``fields`` is the full alarm JSON of the REST API (DESIGN §4) and goes into the webhook body
    unchanged; the other attributes are the few that the robots' markdown needs. ``url`` is the
    absolute link to the alarm's console page (``ALARMHUB_BASE_URL`` + ``/alarms/<id>/``).
    """

    id: int
    status: Status
    kind: Kind
    namespace: str = ""
    region: str = ""
    level: str = ""  # "Remind" | "Warn" | "Serious" | ""
    policy_id: str = ""
    policy_name: str = ""
    instance_id: str = ""
    instance_name: str = ""
    metric_name: str = ""
    metric_display_name: str = ""
    operator: str = ""
    threshold: str = ""
    unit: str = ""
    current_value: str = ""
    event_name: str = ""
    event_display_name: str = ""
    first_occurred_at: datetime  # aware
    recovered_at: datetime | None = None  # aware; None while firing or when unknown
    acknowledged_by: str | None = None
    notification_count: int = 0
    url: str
    fields: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.status not in get_args(Status):
            raise ValueError(f"status must be 'firing' or 'recovered', not {self.status!r}")
        for name in ("first_occurred_at", "recovered_at"):
            moment = getattr(self, name)
            # A naive time would be read in the server's zone: refuse it here, not in a message.
            if moment is not None and moment.utcoffset() is None:
                raise ValueError(f"{name} must be an aware datetime")

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any], *, url: str) -> OutboundAlarm:
        """Build the snapshot from the REST API's alarm JSON (DESIGN §4), kept whole in ``fields``.

        Times are ISO 8601 strings (``...Z`` or with an offset) or aware datetimes.
        """

        def text(name: str) -> str:
            value = fields.get(name)
            return "" if value is None else str(value)

        recovered_at = fields.get("recovered_at")
        return cls(
            id=int(fields["id"]),
            status=fields["status"],
            kind=fields.get("kind") or "metric",
            namespace=text("namespace"),
            region=text("region"),
            level=text("level"),
            policy_id=text("policy_id"),
            policy_name=text("policy_name"),
            instance_id=text("instance_id"),
            instance_name=text("instance_name"),
            metric_name=text("metric_name"),
            metric_display_name=text("metric_display_name"),
            operator=text("operator"),
            threshold=text("threshold"),
            unit=text("unit"),
            current_value=text("current_value"),
            event_name=text("event_name"),
            event_display_name=text("event_display_name"),
            first_occurred_at=_as_datetime(fields["first_occurred_at"]),
            recovered_at=_as_datetime(recovered_at) if recovered_at else None,
            acknowledged_by=fields.get("acknowledged_by") or None,
            notification_count=int(fields.get("notification_count") or 0),
            url=url,
            fields=dict(fields),
        )


def _as_datetime(value: datetime | str) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready for a channel: a plain title and markdown lines (payload text escaped).

    Channels join the lines their own way (DingTalk needs blank lines between them) and may cut
    the body to their size limit; :meth:`link_line` is kept separate so a cut never loses it.
    """

    title: str  # plain text: notification previews, DingTalk's title, Feishu's card header
    lines: tuple[str, ...]  # markdown; lines[0] is the title in bold
    link_text: str
    url: str
    tone: Tone = "info"  # how alarming it looks where a channel has colours (Feishu's header)

    def link_line(self) -> str:
        """The markdown link to the alarm (or board); it also names AlarmHub for keyword robots."""
        return f"[{self.link_text}]({safe_url(self.url)}) · AlarmHub"

    def markdown(
        self, *, separator: str = "\n", include_title: bool = True, include_link: bool = True
    ) -> str:
        """The body as one markdown string; a channel with its own header leaves the title out."""
        lines = list(self.lines if include_title else self.lines[1:])
        if include_link:
            lines.append(self.link_line())
        return separator.join(lines)


# --- rendering -----------------------------------------------------------------------------------

_LEVEL_TONES: dict[str, Tone] = {"Warn": "warning", "Remind": "notice"}
_LEVELS = {
    "Remind": ("提醒", "Remind"),
    "Warn": ("警告", "Warning"),
    "Serious": ("严重", "Serious"),
}

_TEXT: dict[str, dict[str, str]] = {
    "zh-hans": {
        "triggered": "告警",
        "repeated": "告警持续",
        "repeated_for": "告警持续 {duration}",
        "recovered": "已恢复",
        "recovered_after": "已恢复，持续 {duration}",
        "acknowledged": "已确认",
        "acknowledged_by": "{user} 已确认",
        "escalated": "告警升级",
        "condition": "条件",
        "current": "当前值 {value}",
        "event": "事件",
        "instance": "实例",
        "policy": "策略",
        "level": "级别",
        "started": "开始时间",
        "recovered_at": "恢复时间",
        "recovered_unknown": "时间未知",
        "ack_by": "确认人",
        "count": "通知次数",
        "link": "查看告警",
        "separator": "：",
        "comma": "，",
    },
    "en": {
        "triggered": "Alarm",
        "repeated": "Still firing",
        "repeated_for": "Still firing after {duration}",
        "recovered": "Recovered",
        "recovered_after": "Recovered after {duration}",
        "acknowledged": "Acknowledged",
        "acknowledged_by": "Acknowledged by {user}",
        "escalated": "Escalated",
        "condition": "Condition",
        "current": "current value {value}",
        "event": "Event",
        "instance": "Instance",
        "policy": "Policy",
        "level": "Level",
        "started": "Started",
        "recovered_at": "Recovered",
        "recovered_unknown": "time unknown",
        "ack_by": "Acknowledged by",
        "count": "Notifications",
        "link": "Open the alarm",
        "separator": ": ",
        "comma": ", ",
    },
}


def _unit(alarm: OutboundAlarm) -> str:
    # Tencent sends the literal "None" for metrics without a unit (FORMAT.md, quirk 11).
    return "" if alarm.unit.strip() in ("", "None") else alarm.unit.strip()


def condition_text(alarm: OutboundAlarm) -> str:
    """``CPU利用率 > 80%`` for a metric, the event's name for an event (plain, not escaped)."""
    if alarm.kind == "event":
        return alarm.event_display_name or alarm.event_name or alarm.policy_name
    metric = alarm.metric_display_name or alarm.metric_name or alarm.policy_name
    if alarm.operator and alarm.threshold:
        return f"{metric} {alarm.operator} {alarm.threshold}{_unit(alarm)}"
    return metric


def _event_tag(alarm: OutboundAlarm, event: Event, lang: Language, now: datetime | None) -> str:
    text = _TEXT[lang]
    if event == "repeated":
        if now is None:
            return text["repeated"]
        seconds = (now - alarm.first_occurred_at).total_seconds()
        return text["repeated_for"].format(duration=format_duration(seconds, lang))
    if event == "recovered":
        if alarm.recovered_at is None:
            return text["recovered"]
        seconds = (alarm.recovered_at - alarm.first_occurred_at).total_seconds()
        return text["recovered_after"].format(duration=format_duration(seconds, lang))
    if event == "acknowledged" and alarm.acknowledged_by:
        return text["acknowledged_by"].format(user=plain_text(alarm.acknowledged_by, max_chars=60))
    return text[event]


def render_message(
    alarm: OutboundAlarm,
    event: Event,
    *,
    language: str = "zh-hans",
    tz: str | tzinfo = DEFAULT_TZ,
    now: datetime | None = None,
) -> RenderedMessage:
    """The title and markdown body of one event of one alarm.

    ``language`` is ``zh-hans`` or ``en`` (other Django language codes are mapped), times are
    shown in ``tz`` with its label, and ``now`` (aware) lets a repeat say how long the alarm has
    been firing. The title reads e.g. ``[告警] CPU利用率 > 80% — ins-xxx (ap-guangzhou)`` or
    ``[Recovered after 14 min] ...``.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown event {event!r}")
    lang = normalise_language(language)
    text = _TEXT[lang]
    tag = _event_tag(alarm, event, lang, now)
    subject = condition_text(alarm) or f"#{alarm.id}"
    target = alarm.instance_id or alarm.instance_name

    def compose(clean: Callable[[object], str]) -> str:
        title = f"[{clean(tag)}] {clean(subject)}"
        if target:
            title += f" — {clean(target)}"
        if alarm.region:
            title += f" ({clean(alarm.region)})"
        return title

    sep, comma = text["separator"], text["comma"]

    def line(label: str, value: str) -> str:
        return f"**{text[label]}**{sep}{value}"

    lines = [f"**{compose(escape_markdown)}**"]
    if alarm.kind == "event":
        lines.append(line("event", escape_markdown(subject)))
    else:
        condition = escape_markdown(subject)
        if alarm.current_value:
            value = escape_markdown(f"{alarm.current_value}{_unit(alarm)}")
            condition += comma + text["current"].format(value=value)
        lines.append(line("condition", condition))
    instance = " ".join(
        part
        for part in (
            escape_markdown(alarm.instance_name),
            f"({escape_markdown(alarm.instance_id)})" if alarm.instance_id else "",
        )
        if part
    )
    if alarm.region:
        region = escape_markdown(alarm.region)
        instance = f"{instance} · {region}" if instance else region
    if instance:
        lines.append(line("instance", instance))
    if alarm.policy_name or alarm.policy_id:
        policy = escape_markdown(alarm.policy_name)
        if alarm.policy_id:
            policy = f"{policy} ({escape_markdown(alarm.policy_id)})".strip()
        lines.append(line("policy", policy))
    if alarm.level:
        zh_level, en_level = _LEVELS.get(alarm.level, (alarm.level, alarm.level))
        level = zh_level if lang == "zh-hans" else en_level
        lines.append(line("level", escape_markdown(level)))
    lines.append(line("started", format_time(alarm.first_occurred_at, tz)))
    if alarm.recovered_at is not None:
        lines.append(line("recovered_at", format_time(alarm.recovered_at, tz)))
    elif alarm.status == "recovered":
        lines.append(line("recovered_at", text["recovered_unknown"]))
    if alarm.acknowledged_by:
        lines.append(line("ack_by", escape_markdown(alarm.acknowledged_by, max_chars=60)))
    if alarm.notification_count > 1:
        lines.append(line("count", str(alarm.notification_count)))
    return RenderedMessage(
        title=compose(plain_text),
        lines=tuple(lines),
        link_text=text["link"],
        url=alarm.url,
        tone=tone_of(alarm, event),
    )


def tone_of(alarm: OutboundAlarm, event: Event) -> Tone:
    """Green for a recovery, blue for an acknowledgement, else by Tencent's alarm level."""
    if event == "recovered":
        return "ok"
    if event == "acknowledged":
        return "info"
    return _LEVEL_TONES.get(alarm.level, "danger")
