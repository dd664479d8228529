"""How an alarm reads to people, written once for the admin, the console and its templates.

Templates reach these through the filters in ``alarms.templatetags.alarms``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from html import escape
from typing import Any

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.timesince import TIME_STRINGS, timesince
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from .choices import AlarmKind, AlarmStatus, DeliveryStatus

# Who did it, when no user did (Tencent's notifications, AlarmHub's own sweeps, scripts).
SYSTEM_ACTOR = _("system")


def actor_label(user: Any) -> str:
    """A user's name, or "system" for an event no user caused."""
    return user.get_username() if user is not None else str(SYSTEM_ACTOR)


def zone_label(value: datetime) -> str:
    """``CST``, ``UTC``; ``+08:00`` where the zone has no abbreviation (zoneinfo gives "+08")."""
    name = value.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = value.strftime("%z")  # "+0800"
    return f"{offset[:3]}:{offset[3:]}" if offset else "UTC"


class _Memo:
    """A timesince unit's words (``"%(num)d hour"``...), translated once per number."""

    def __init__(self, words: Any) -> None:
        self.words = words
        self.done: dict[int, str] = {}

    def __mod__(self, values: dict[str, int]) -> str:
        number = values["num"]
        if number not in self.done:
            self.done[number] = str(self.words % values)
        return self.done[number]


class TimeWriter:
    """``time_html`` for a page of times: the zone and the words looked up once, not per time
    (a board writes three times per row; each look-up costs as much as the rest)."""

    def __init__(self) -> None:
        self.zone = timezone.get_current_timezone()
        self.ago = ""  # "%(age)s ago", translated at the first age
        self.units = {name: _Memo(words) for name, words in TIME_STRINGS.items()}

    def __call__(self, value: datetime | None, *, age: bool = False) -> SafeString | str:
        """A ``<time>`` in the active zone with its label and the UTC time as its title
        (DESIGN §6). ``age`` shows how long ago instead ("3 hours ago"), the zoned time then
        joins the title. Naive or missing values print nothing rather than a wrong time."""
        if not isinstance(value, datetime) or timezone.is_naive(value):
            return ""
        local = value.astimezone(self.zone)
        utc = value.astimezone(UTC)
        shown = f"{local:%Y-%m-%d %H:%M} {zone_label(local)}"
        title = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
        if age:
            title = f"{shown} · {title}"
            self.ago = self.ago or gettext("%(age)s ago")
            # timesince only applies % to its time_strings: the memos stand in for its own.
            since = timesince(value, depth=1, time_strings=self.units)  # type: ignore[arg-type]
            shown = self.ago % {"age": since}
        # What format_html would write, without its per-argument overhead.
        return mark_safe(  # noqa: S308  # every part is escaped
            f'<time datetime="{escape(utc.isoformat())}" title="{escape(title)}">'
            f"{escape(shown)}</time>"
        )


def time_html(value: datetime | None, *, age: bool = False) -> SafeString | str:
    """One ``<time>`` (see TimeWriter; a page of times takes one TimeWriter)."""
    if not isinstance(value, datetime) or timezone.is_naive(value):
        return ""
    return TimeWriter()(value, age=age)


def condition_text(alarm: Any) -> str:
    """``CPU utilization 95.5 > 80%`` for a metric alarm, the event's name for an event.

    The metric's display name when Tencent sent one, then the value it reached, the operator and
    the threshold with its unit; parts Tencent left empty are left out.
    """
    if alarm.kind == AlarmKind.EVENT or not (alarm.metric_name or alarm.metric_display_name):
        return alarm.event_display_name or alarm.event_name or "-"
    threshold = f"{alarm.threshold}{alarm.unit}" if alarm.threshold else ""
    parts = (
        alarm.metric_display_name or alarm.metric_name,
        alarm.current_value,
        alarm.operator,
        threshold,
    )
    return " ".join(part for part in parts if part)


# Built once: a board renders a badge per row (an alarm status wins over a delivery's).
_COLOURS = {
    **{status.value: status.colour for status in DeliveryStatus},
    **{status.value: status.colour for status in AlarmStatus},
}


def status_colour(value: str) -> str:
    """The badge colour of an alarm or delivery status value (alarms.choices owns the colours)."""
    return _COLOURS.get(value, "")


def humanize_duration(seconds: int | None) -> str:
    """``5400`` → ``1 h 30 min``: the two most significant units."""
    if seconds is None:
        return "-"
    remaining = max(int(seconds), 0)
    days, remaining = divmod(remaining, 86400)
    hours, remaining = divmod(remaining, 3600)
    minutes, secs = divmod(remaining, 60)
    # Marked, translated only when shown: a board calls this per row (lazy strings cost more).
    units = (
        (days, gettext_noop("%(n)d d")),
        (hours, gettext_noop("%(n)d h")),
        (minutes, gettext_noop("%(n)d min")),
        (secs, gettext_noop("%(n)d s")),
    )
    parts = [gettext(label) % {"n": amount} for amount, label in units if amount]
    return " ".join(parts[:2]) or gettext("%(n)d s") % {"n": 0}


# Dimension keys that hold an address, LAN before WAN; Tencent nests most under objDetail
# (docs/sources/tencent.md), Prometheus's ``instance`` is host:port. Matched ignoring case.
IP_KEYS = (
    "deviceLanIp",
    "lanIp",
    "privateIp",
    "privateIpAddress",
    "ip",
    "vip",
    "deviceWanIp",
    "wanIp",
    "publicIp",
    "instance",
)
# Some products write the address into the object's name: "cdb-x(instance name:a,IP:10.1.0.8)".
_IP_IN_NAME = re.compile(r"\bIP(?: Port)?:\s*([0-9A-Fa-f.:\[\]]+)", re.IGNORECASE)


def _address(value: Any) -> str:
    """The IP in ``value`` (``10.0.0.12:9100`` → ``10.0.0.12``), or "" when it holds none.

    Tencent also sends non-addresses under these keys (an event's ``ip: "something unnormal"``).
    """
    text = str(value).strip() if isinstance(value, str | int) else ""
    candidates = [text]
    if text.startswith("[") and "]" in text:  # [v6]:port
        candidates.append(text[1 : text.index("]")])
    elif text.count(":") == 1:  # v4:port
        candidates.append(text.split(":", 1)[0])
    for candidate in candidates:
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            continue
    return ""


def _values_by_key(mapping: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``mapping``'s values under their case-folded keys (a list value counts as its items)."""
    found: dict[str, list[Any]] = {}
    for name, value in mapping.items():
        if isinstance(name, str):
            found.setdefault(name.casefold(), []).extend(
                value if isinstance(value, list) else [value]
            )
    return found


_FOLDED_IP_KEYS = tuple(key.casefold() for key in IP_KEYS)


def instance_ips(alarm: Any) -> list[str]:
    """The addresses of the alarm's instance, as operators look for them: LAN first, each once.

    Read from the dimensions and their ``objDetail``, then from an address written into the
    object's name (``objName``/``deviceName``).
    """
    dimensions = alarm.dimensions if isinstance(alarm.dimensions, Mapping) else {}
    detail = dimensions.get("objDetail")
    # Each mapping folded once, not once per key: the board reads this for every row.
    sources = [_values_by_key(dimensions)]
    if isinstance(detail, Mapping):
        sources.append(_values_by_key(detail))
    found: dict[str, None] = {}
    for key in _FOLDED_IP_KEYS:
        for source in sources:
            for value in source.get(key, ()):
                if address := _address(value):
                    found.setdefault(address, None)
    for key in ("objName", "deviceName"):
        for match in _IP_IN_NAME.finditer(str(dimensions.get(key) or "")):
            if address := _address(match.group(1)):
                found.setdefault(address, None)
    return list(found)
