"""The admin's History page of an alarm shows its timeline (acknowledgements, notes, pushes).

Every state change is an AlarmEvent written by the services, whichever door it came through
(admin, console, API), so the timeline is the complete history; admin LogEntry rows would
repeat a part of it.
"""

from __future__ import annotations

from django import template

from ..models import Alarm
from ..selectors.timeline import AlarmTimeline, alarm_timeline

register = template.Library()


@register.simple_tag
def alarm_history(alarm: Alarm) -> AlarmTimeline:
    """The alarm's latest events and notes, oldest first (two queries)."""
    return alarm_timeline(alarm)
