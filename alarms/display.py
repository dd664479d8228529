"""How an alarm reads to people, written once for the admin, the console and its templates.

Templates reach these through the filters in ``alarms.templatetags.alarms``.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from django.utils.translation import gettext_lazy as _

from .choices import AlarmKind, AlarmStatus, DeliveryStatus

# Who did it, when no user did (Tencent's notifications, AlarmHub's own sweeps, scripts).
SYSTEM_ACTOR = _("system")


def actor_label(user: Any) -> str:
    """A user's name, or "system" for an event no user caused."""
    return user.get_username() if user is not None else str(SYSTEM_ACTOR)


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


def status_colour(value: str) -> str:
    """The badge colour of an alarm or delivery status value (alarms.choices owns the colours)."""
    if value in AlarmStatus.values:
        return AlarmStatus(value).colour
    if value in DeliveryStatus.values:
        return DeliveryStatus(value).colour
    return ""


def humanize_duration(seconds: int | None) -> str:
    """``5400`` → ``1 h 30 min``: the two most significant units."""
    if seconds is None:
        return "-"
    remaining = max(int(seconds), 0)
    days, remaining = divmod(remaining, 86400)
    hours, remaining = divmod(remaining, 3600)
    minutes, secs = divmod(remaining, 60)
    units = [
        (days, _("%(n)d d")),
        (hours, _("%(n)d h")),
        (minutes, _("%(n)d min")),
        (secs, _("%(n)d s")),
    ]
    parts = [str(label) % {"n": amount} for amount, label in units if amount]
    return " ".join(parts[:2]) or str(_("%(n)d s") % {"n": 0})


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


def _values(mapping: Mapping[str, Any], key: str) -> list[Any]:
    folded = key.casefold()
    found: list[Any] = []
    for name, value in mapping.items():
        if isinstance(name, str) and name.casefold() == folded:
            found.extend(value if isinstance(value, list) else [value])
    return found


def instance_ips(alarm: Any) -> list[str]:
    """The addresses of the alarm's instance, as operators look for them: LAN first, each once.

    Read from the dimensions and their ``objDetail``, then from an address written into the
    object's name (``objName``/``deviceName``).
    """
    dimensions = alarm.dimensions if isinstance(alarm.dimensions, Mapping) else {}
    detail = dimensions.get("objDetail")
    sources = [dimensions, detail] if isinstance(detail, Mapping) else [dimensions]
    found: dict[str, None] = {}
    for key in IP_KEYS:
        for source in sources:
            for value in _values(source, key):
                if address := _address(value):
                    found.setdefault(address, None)
    for key in ("objName", "deviceName"):
        for match in _IP_IN_NAME.finditer(str(dimensions.get(key) or "")):
            if address := _address(match.group(1)):
                found.setdefault(address, None)
    return list(found)
