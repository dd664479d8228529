"""How an alarm reads to people, written once for the admin, the console and its templates.

Templates reach these through the filters in ``alarms.templatetags.alarms``.
"""

from __future__ import annotations

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
