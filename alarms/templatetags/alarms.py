"""AlarmHub's one template tag library, for the admin and the console (`{% load alarms %}`)."""

from __future__ import annotations

import datetime
from typing import Any
from urllib.parse import urlencode

from django import template
from django.contrib.admin.templatetags.admin_list import date_hierarchy
from django.contrib.admin.templatetags.base import InclusionAdminNode
from django.contrib.admin.views.main import ChangeList
from django.db.models import Max, Min
from django.template.base import Parser, Token
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.text import capfirst
from django.utils.translation import gettext

from alarms import display
from alarms.choices import AlarmStatus
from alarms.console.css import colour_class
from alarms.permissions import VIEW_ALARM
from alarms.selectors.alarms import firing_counts_by_namespace

register = template.Library()


@register.filter
def condition_text(alarm: Any) -> str:
    """``{{ alarm|condition_text }}``: ``CPU utilization 95.5 > 80%``, or the event's name."""
    return display.condition_text(alarm)


@register.filter
def actor_label(user: Any) -> str:
    """``{{ event.actor|actor_label }}``: the username, or "system" when no user acted."""
    return display.actor_label(user)


@register.filter
def humanize_duration(seconds: int | None) -> str:
    """``{{ alarm.duration_seconds|humanize_duration }}``: ``1 h 30 min``."""
    return display.humanize_duration(seconds)


@register.filter
def status_colour(value: str) -> str:
    """``{{ alarm.status|status_colour }}``: the status's badge colour from alarms.choices."""
    return display.status_colour(value)


@register.filter
def status_class(value: str) -> str:
    """``class="badge {{ alarm.status|status_class }}"``: the status's colour as a CSS class.

    The CSP forbids inline ``style`` attributes; the class is defined by the status stylesheet
    (alarms/console/css.py), generated from the same colours.
    """
    return colour_class(display.status_colour(value))


@register.inclusion_tag("admin/alarms/at_a_glance.html", takes_context=True)
def alarmhub_at_a_glance(context: template.Context) -> dict[str, Any]:
    """Firing alarms per namespace, each linking to the filtered alarm list.

    The "dashboard" part of the admin index; richer panels can join this context later.
    """
    # Imported here: the admin package registers every ModelAdmin when first imported.
    from alarms.admin.filters import EMPTY_VALUE

    request = context.get("request")
    if request is None or not request.user.has_perm(VIEW_ALARM):
        return {"show": False}
    changelist = reverse("admin:alarms_alarm_changelist")
    # The alarm list speaks the API's parameter names (alarms.admin.filters).
    firing = {"status": AlarmStatus.FIRING}
    rows: list[dict[str, Any]] = []
    for row in firing_counts_by_namespace():
        namespace = str(row["namespace"] or "")
        query = urlencode({"namespace": namespace or EMPTY_VALUE, **firing})
        rows.append({"namespace": namespace, "count": row["count"], "url": f"{changelist}?{query}"})
    return {
        "show": True,
        "rows": rows,
        "total": sum(int(row["count"]) for row in rows),
        "firing_url": f"{changelist}?{urlencode(firing)}",
        "unacknowledged_url": f"{changelist}?{urlencode({**firing, 'acknowledged': 'false'})}",
    }


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def cheap_date_hierarchy(cl: ChangeList) -> dict[str, Any]:
    """Django's date drill-down without its SELECT DISTINCT over the table.

    Django lists the years (months, days) that have rows with ``SELECT DISTINCT
    date_trunc(...)``, which reads every row of the current level: all alarms, at the top. Here
    each level costs one MIN/MAX aggregate (two index look-ups when unfiltered) and offers every
    year, month or day between the two; a choice may therefore lead to an empty page.
    """
    if not cl.date_hierarchy:
        return {}
    field_name = cl.date_hierarchy
    year_field, month_field, day_field = (
        f"{field_name}__year",
        f"{field_name}__month",
        f"{field_name}__day",
    )
    year = _int(cl.params.get(year_field))
    month = _int(cl.params.get(month_field))
    day = _int(cl.params.get(day_field))
    if year and month and day:
        return date_hierarchy(cl) or {}  # the day level runs no query

    def link(filters: dict[str, Any]) -> str:
        return cl.get_query_string(filters, [f"{field_name}__"])

    bounds = cl.queryset.aggregate(first=Min(field_name), last=Max(field_name))
    first, last = bounds["first"], bounds["last"]
    if first is None or last is None:
        back = {"link": link({}), "title": gettext("All dates")} if year else None
        return {"show": True, "back": back, "choices": []}
    first, last = timezone.localtime(first), timezone.localtime(last)
    if not year and first.year == last.year:
        # Like Django: with no date selected, start at the deepest level that has a choice.
        year = first.year
        if first.month == last.month:
            month = first.month

    if year and month:
        days = range(first.day, last.day + 1)
        return {
            "show": True,
            "back": {"link": link({year_field: year}), "title": str(year)},
            "choices": [
                {
                    "link": link({year_field: year, month_field: month, day_field: d}),
                    "title": capfirst(
                        formats.date_format(datetime.date(year, month, d), "MONTH_DAY_FORMAT")
                    ),
                }
                for d in days
            ],
        }
    if year:
        return {
            "show": True,
            "back": {"link": link({}), "title": gettext("All dates")},
            "choices": [
                {
                    "link": link({year_field: year, month_field: m}),
                    "title": capfirst(
                        formats.date_format(datetime.date(year, m, 1), "YEAR_MONTH_FORMAT")
                    ),
                }
                for m in range(first.month, last.month + 1)
            ],
        }
    return {
        "show": True,
        "back": None,
        "choices": [
            {"link": link({year_field: str(y)}), "title": str(y)}
            for y in range(first.year, last.year + 1)
        ],
    }


@register.tag(name="alarmhub_date_hierarchy")
def alarmhub_date_hierarchy_tag(parser: Parser, token: Token) -> InclusionAdminNode:
    return InclusionAdminNode(
        parser,
        token,
        func=cheap_date_hierarchy,
        template_name="date_hierarchy.html",
        takes_context=False,
    )
