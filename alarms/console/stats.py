"""The statistics page (``GET /stats/``, DESIGN §6 "Console" and "Statistics").

The board's FilterSet selects the alarms and ``selectors.stats.alarm_stats`` computes every
number, so the page, the API and the board agree by construction; this module only picks the
window, shapes links back to the board and lays out the over-time chart as SVG (no JS library).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from ..models import Alarm
from ..permissions import VIEW_ALARM
from ..selectors.stats import AlarmStats, Window, alarm_stats
from .filters import TIME_FILTERS, ConsoleAlarmFilterSet
from .querystrings import Pairs, filter_pairs, with_values

PRESETS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
}
PRESET_LABELS = {
    "24h": gettext_lazy("24 h"),
    "7d": gettext_lazy("7 days"),
    "30d": gettext_lazy("30 days"),
    "custom": gettext_lazy("Custom"),
}
DEFAULT_PRESET = "7d"

# Chart geometry, in SVG user units (the SVG scales to its box through viewBox).
CHART_WIDTH = 960
CHART_HEIGHT = 240
PLOT_LEFT, PLOT_RIGHT, PLOT_TOP, PLOT_BOTTOM = 44, 40, 10, 34
MAX_AXIS_LABELS = 12
Y_TICKS = 4


def choose_window(query: QueryDict, now: datetime) -> tuple[str, QueryDict]:
    """The window's name and the filter data to bind: a preset replaces the typed times.

    Without ``window``, typed times mean "custom" and no times mean the default seven days
    (the API's default too). A custom window without a start starts seven days before its end.
    """
    data = query.copy()
    name = query.get("window", "")
    if name not in (*PRESETS, "custom"):
        name = "custom" if any(query.get(t) for t in TIME_FILTERS) else DEFAULT_PRESET
    if name in PRESETS:
        for key in TIME_FILTERS:
            data.pop(key, None)
        data["first_occurred_after"] = (now - PRESETS[name]).isoformat()
    return name, data


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    count: int
    title: str


@dataclass(frozen=True)
class AxisLabel:
    x: float
    text: str


@dataclass(frozen=True)
class Tick:
    y: float
    value: int


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_right: float
    baseline: float
    triggered: list[Bar]
    recovered: list[Bar]
    labels: list[AxisLabel]
    ticks: list[Tick]
    peak: int


def _bucket_text(start: datetime, hourly: bool) -> str:
    local = timezone.localtime(start)
    return f"{local:%m-%d %H:%M}" if hourly else f"{local:%Y-%m-%d}"


def build_chart(stats: AlarmStats) -> Chart | None:
    """Two bars per bucket (triggered, recovered), labelled in the active zone."""
    buckets = stats.over_time
    if not buckets:
        return None
    hourly = stats.bucket == "hour"
    peak = max(max(b["triggered"], b["recovered"]) for b in buckets) or 1
    plot_width = CHART_WIDTH - PLOT_LEFT - PLOT_RIGHT
    plot_height = CHART_HEIGHT - PLOT_TOP - PLOT_BOTTOM
    baseline = PLOT_TOP + plot_height
    slot = plot_width / len(buckets)
    bar = max(slot * 0.4, 0.5)
    triggered: list[Bar] = []
    recovered: list[Bar] = []
    labels: list[AxisLabel] = []
    every = max(1, -(-len(buckets) // MAX_AXIS_LABELS))  # ceiling division
    for index, bucket in enumerate(buckets):
        left = PLOT_LEFT + index * slot + slot * 0.1
        when = _bucket_text(bucket["start"], hourly)
        for series, count, offset, label in (
            (triggered, bucket["triggered"], 0.0, _("triggered")),
            (recovered, bucket["recovered"], bar, _("recovered")),
        ):
            height = plot_height * count / peak
            series.append(
                Bar(
                    x=round(left + offset, 2),
                    y=round(baseline - height, 2),
                    width=round(bar, 2),
                    height=round(height, 2),
                    count=count,
                    title=f"{when}: {count} {label}",
                )
            )
        if index % every == 0:
            labels.append(AxisLabel(x=round(PLOT_LEFT + (index + 0.5) * slot, 2), text=when))
    # Whole counts only: a peak of 3 gets 0, 1, 2, 3, never a repeated "2".
    values = sorted({round(peak * n / Y_TICKS) for n in range(Y_TICKS + 1)})
    ticks = [Tick(y=round(baseline - plot_height * v / peak, 2), value=v) for v in values]
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        plot_left=PLOT_LEFT,
        plot_right=CHART_WIDTH - PLOT_RIGHT,
        baseline=baseline,
        triggered=triggered,
        recovered=recovered,
        labels=labels,
        ticks=ticks,
        peak=peak,
    )


def _board(query: str) -> str:
    return f"{reverse('alarms:dashboard')}?{query}"


def board_links(stats: AlarmStats, pairs: Pairs) -> dict[str, Any]:
    """Each breakdown row with the board's URL for the current filter narrowed to it."""

    def rows(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        # An empty value (alarms without a policy) has no board filter: such rows get no link.
        return [
            {**row, "board_url": _board(with_values(pairs, **{key: row[key]})) if row[key] else ""}
            for row in items
        ]

    flapping = []
    for row in stats.flapping:
        narrowed = {k: row[k] for k in ("namespace", "policy_id", "instance_id") if row[k]}
        flapping.append(
            {
                **row,
                "alarm_url": reverse("alarms:alarm", args=[row["latest_alarm_id"]]),
                "board_url": _board(with_values(pairs, **narrowed)) if narrowed else "",
            }
        )
    return {
        "by_namespace": rows(stats.by_namespace, "namespace"),
        "by_policy": rows(stats.by_policy, "policy_id"),
        "noisiest_instances": rows(stats.noisiest_instances, "instance_id"),
        "flapping": flapping,
    }


@require_GET
@login_required
@permission_required(VIEW_ALARM, raise_exception=True)
def stats_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    preset, data = choose_window(request.GET, now)
    filterset = ConsoleAlarmFilterSet(data, queryset=Alarm.objects.all())
    context: dict[str, Any] = {
        "title": _("Statistics"),
        "nav": "stats",
        "filterset": filterset,
        "preset": preset,
        "presets": list(PRESET_LABELS.items()),
        "custom_after": request.GET.get("first_occurred_after", "") if preset == "custom" else "",
        "custom_before": request.GET.get("first_occurred_before", "") if preset == "custom" else "",
        "stats": None,
    }
    if filterset.is_valid():
        cleaned = filterset.form.cleaned_data
        if cleaned.get("first_occurred_after") is None:
            end = cleaned.get("first_occurred_before") or now
            # Read by filterset.qs below: the start of a custom window given only its end.
            cleaned["first_occurred_after"] = end - PRESETS[DEFAULT_PRESET]
        window = Window(
            after=cleaned["first_occurred_after"],
            before=cleaned.get("first_occurred_before") or now,
        )
        stats = alarm_stats(filterset.qs, window=window, filters=cleaned)
        # The board gets the same filter and the same window, in absolute (UTC) times.
        pairs = filter_pairs(cleaned)
        context.update(
            stats=stats,
            chart=build_chart(stats),
            board_url=_board(with_values(pairs)),
            export_query=with_values(pairs),
            **board_links(stats, pairs),
        )
    return render(request, "alarms/stats.html", context)
