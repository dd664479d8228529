"""Console presentation: times in the operator's zone, labelled, UTC on hover (DESIGN §6)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import template
from django.template.defaulttags import CsrfTokenNode
from django.utils import timezone
from django.utils.safestring import SafeString

from alarms.display import time_html

register = template.Library()


@register.filter(name="when")
def when(value: datetime | None, style: str = "") -> SafeString | str:
    """``{{ alarm.first_occurred_at|when }}``: a ``<time>`` in the active zone, labelled, UTC
    on hover; ``|when:"age"`` shows how long ago (alarms.display.time_html)."""
    return time_html(value, age=style == "age")


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


@register.simple_tag(takes_context=True)
def board_rows(
    context: template.Context,
    alarms: Any,
    silenced_ids: Any = None,
    can_acknowledge: Any = False,
    next_url: Any = "",
) -> SafeString:
    """``{% board_rows alarms silenced_ids can_acknowledge next_url %}``: the board table's
    ``<tr>`` rows (alarms.console.rows). Each acknowledge form carries this page's
    ``{% csrf_token %}`` and comes back to ``next_url``, else to the page itself."""
    from alarms.console.rows import render_rows

    if can_acknowledge and not next_url:
        request = context.get("request")
        next_url = request.get_full_path() if request is not None else ""
    return render_rows(
        alarms or (),
        silenced_ids=silenced_ids or (),
        can_acknowledge=bool(can_acknowledge),
        next_url=str(next_url or ""),
        csrf_input=CsrfTokenNode().render(context) if can_acknowledge else "",
    )
