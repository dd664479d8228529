"""Console presentation: times in the operator's zone, labelled, UTC on hover (DESIGN §6)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()


def zone_label(value: datetime) -> str:
    """``CST``, ``UTC``; ``+08:00`` where the zone has no abbreviation (zoneinfo gives "+08")."""
    name = value.tzname() or ""
    if name and name[0] not in "+-":
        return name
    offset = value.strftime("%z")  # "+0800"
    return f"{offset[:3]}:{offset[3:]}" if offset else "UTC"


@register.filter(name="when")
def when(value: datetime | None, style: str = "") -> SafeString | str:
    """A ``<time>`` in the active zone with its label and the UTC time as its title.

    ``style`` "age" shows how long ago instead ("3 hours ago"), the zoned time then joins the
    title. Naive or missing values print nothing rather than a wrong time.
    """
    if not isinstance(value, datetime) or timezone.is_naive(value):
        return ""
    local = timezone.localtime(value)
    utc = value.astimezone(UTC)
    shown = f"{local:%Y-%m-%d %H:%M} {zone_label(local)}"
    title = f"{utc:%Y-%m-%d %H:%M:%S} UTC"
    if style == "age":
        title = f"{shown} · {title}"
        shown = _("%(age)s ago") % {"age": timesince(value, depth=1)}
    return format_html('<time datetime="{}" title="{}">{}</time>', utc.isoformat(), title, shown)


@register.simple_tag
def zone_choices() -> list[str]:
    """The header's zone picker options, the active zone among them."""
    from alarms.console.timezone import zone_choices as choices

    return choices(timezone.get_current_timezone_name())


@register.simple_tag(takes_context=True)
def saved_views(context: template.Context) -> list[dict[str, Any]]:
    """The navigation's saved views: the user's own and the shared ones, in one query."""
    from alarms.console.saved_views import view_url, visible_views

    user = getattr(context.get("request"), "user", None)
    if user is None or not user.is_authenticated:
        return []
    return [
        {"name": v.name, "url": view_url(v), "shared": v.shared, "default": v.is_default}
        for v in visible_views(user).only("id", "name", "query", "shared", "is_default")
    ]


@register.simple_tag
def filter_query(filterset: Any) -> str:
    """The board's current filter as repeated parameters with UTC times (what the API reads)."""
    from alarms.console.querystrings import cleaned_filter_query

    return cleaned_filter_query(filterset)
