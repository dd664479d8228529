"""The operator console: the board and the alarm page (server-rendered, htmx in place).

Every role may read (Viewers included, staff or not); acting is the services' decision: they
raise PermissionDenied, which Django answers with 403. Partials answer htmx requests; without
JavaScript the same forms redirect back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from ..choices import AlarmStatus, EventType
from ..display import instance_ips
from ..models import Alarm, AlarmEvent, Delivery
from ..permissions import ACKNOWLEDGE_ALARM, ANNOTATE_ALARM, VIEW_ALARM, VIEW_DELIVERY
from ..pipeline.explain import explain_delivery
from ..selectors.alarms import (
    alarm_list_queryset,
    firing_counts_by_namespace,
    with_stale,
)
from ..selectors.deliveries import deliveries_of
from ..selectors.timeline import alarm_timeline
from ..services.operator import acknowledge_alarm, add_note, unacknowledge_alarm
from ..services.silences import silenced_alarm_ids
from .board import (
    BoardPage,
    _capped_count,
    _known_values,
    board_page,
    board_ranks,
    decorate_rows,
)
from .filters import ConsoleAlarmFilterSet
from .timezone import COOKIE_MAX_AGE, COOKIE_NAME, parse_zone

# Other episodes of the same identity shown on each side (served by alarm_fp_time_idx).
EPISODE_LIMIT = 10
DELIVERY_LIMIT = 50

# Timeline detail keys, worded for people (the raw keys stay in the API).
DETAIL_LABELS = {
    "session_id": gettext_lazy("Session"),
    "value": gettext_lazy("Value"),
    "duration_seconds": gettext_lazy("Duration (s)"),
    "after_recovery": gettext_lazy("After a recovery"),
    "trigger_not_seen": gettext_lazy("Trigger not seen"),
    "reason": gettext_lazy("Reason"),
}


class LoginView(auth_views.LoginView):
    """The admin's login page, for every user with a role (staff or not)."""

    template_name = "admin/login.html"

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), **admin.site.each_context(self.request)}


# --- the board ---------------------------------------------------------------------------------


def _actor_context(request: HttpRequest) -> dict[str, Any]:
    return {
        "can_acknowledge": request.user.has_perm(ACKNOWLEDGE_ALARM),
        "can_annotate": request.user.has_perm(ANNOTATE_ALARM),
    }


def board_context(request: HttpRequest, params: QueryDict) -> dict[str, Any]:
    """Everything the board's table shows for these filters (the page, a refresh, a bulk action)."""
    filterset = ConsoleAlarmFilterSet(params, queryset=alarm_list_queryset())
    page = BoardPage([], "", "")
    matching, more = 0, False
    now = timezone.now()
    if filterset.is_valid():
        page = board_page(with_stale(filterset.qs), params, board_ranks(params, now))
        decorate_rows(page.rows, now)
        matching, more = _capped_count(filterset.qs)
    counts = firing_counts_by_namespace()
    return {
        "title": _("Alarms"),
        "filterset": filterset,
        "alarms": page.rows,
        "next_query": page.older_query,
        "newer_query": page.newer_query,
        "paged": "before" in params or "after" in params,
        "first_position": page.first_position,
        "last_position": page.first_position + len(page.rows) - 1,
        "board_query": params.urlencode(),
        "shown_count": len(page.rows),
        "shown_firing": sum(1 for a in page.rows if a.status == AlarmStatus.FIRING),
        "shown_stale": sum(1 for a in page.rows if getattr(a, "is_stale", False)),
        "matching_count": matching,
        "matching_more": more,
        "firing_by_namespace": counts,
        "known_namespaces": _known_values(counts),
        # The selector types its rows as dict[str, object]; these two are COUNT()s, so ints.
        "firing_total": sum(int(row["count"]) for row in counts),  # type: ignore[call-overload]
        "stale_total": sum(int(row["stale"]) for row in counts),  # type: ignore[call-overload]
        "generated_at": now,
        # One query for the silences in force, matched against the page's rows in Python.
        "silenced_ids": silenced_alarm_ids(page.rows, now=now),
        **_actor_context(request),
    }


@login_required
@permission_required(VIEW_ALARM, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    context = board_context(request, request.GET)
    template = (
        "alarms/_alarm_table.html" if request.headers.get("HX-Request") else "alarms/dashboard.html"
    )
    return render(request, template, context)


def _describe(alarm: Alarm) -> str:
    """What the board shows of an alarm: its policy (or metric/event) and instance."""
    subject = (
        (alarm.policy.name if alarm.policy else "")
        or alarm.metric_display_name
        or alarm.metric_name
        or alarm.event_display_name
        or alarm.event_name
        or alarm.get_kind_display()
    )
    instance = alarm.instance.name or alarm.instance.instance_id if alarm.instance else ""
    return f"{subject} · {instance}" if instance else str(subject)


def _safe_next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


@require_POST
@login_required
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge (or with ``undo``, unacknowledge) one alarm, optionally with a note."""
    alarm = get_object_or_404(Alarm, pk=pk)
    try:
        if request.POST.get("undo"):
            unacknowledge_alarm(alarm=alarm, actor=request.user)
            text = _("Unacknowledged: %(alarm)s.")
        else:
            acknowledge_alarm(alarm=alarm, actor=request.user, note=request.POST.get("note", ""))
            text = _("Acknowledged: %(alarm)s.")
    except ValidationError as exc:
        text = " ".join(exc.messages)
        failed = True
    else:
        failed = False
    fresh = with_stale(alarm_list_queryset()).get(pk=pk)
    decorate_rows([fresh], timezone.now())
    if failed:
        messages.error(request, text)
    else:
        messages.success(request, text % {"alarm": _describe(fresh)})
    if not request.headers.get("HX-Request"):
        return HttpResponseRedirect(_safe_next(request, "/"))
    if request.POST.get("from") == "alarm":
        return render(
            request,
            "alarms/_alarm_actions.html",
            {"alarm": fresh, "partial": True, **_actor_context(request)},
        )
    # The board row, re-rendered by the board's own table template (htmx picks the row out).
    return render(
        request,
        "alarms/_alarm_row_response.html",
        {
            "alarms": [fresh],
            "single_row": True,
            "next_url": _safe_next(request, "/"),
            "silenced_ids": silenced_alarm_ids([fresh], now=timezone.now()),
            **_actor_context(request),
        },
    )


# --- the alarm page ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    event: AlarmEvent
    alarm_time: datetime | None  # Tencent's time for a push; None for operators' actions
    details: list[tuple[str, Any]]


def _timeline_entries(events: list[AlarmEvent]) -> list[TimelineEntry]:
    """Events in the alarm's own time order: a recovery that arrived first still reads last."""
    entries = []
    for event in events:
        details = event.details if isinstance(event.details, dict) else {}
        sent = parse_datetime(str(details.get("sent_at", "")))
        items = [
            (str(DETAIL_LABELS.get(key, key)), value)
            for key, value in getattr(event, "detail_items", sorted(details.items()))
            if key not in ("sent_at", "note_id")
        ]
        entries.append(TimelineEntry(event, sent, items))
    return sorted(entries, key=lambda e: (e.alarm_time or e.event.occurred_at, e.event.pk))


def _episodes(alarm: Alarm) -> tuple[list[Alarm], list[Alarm]]:
    """Other lifecycles of the same identity, nearest first (alarm_fp_time_idx)."""
    same = Alarm.objects.filter(fingerprint=alarm.fingerprint).only(
        "id", "status", "first_occurred_at", "recovered_at", "duration_seconds", "fingerprint"
    )
    earlier = list(
        same.filter(first_occurred_at__lt=alarm.first_occurred_at).order_by("-first_occurred_at")[
            :EPISODE_LIMIT
        ]
    )
    later = list(
        same.filter(first_occurred_at__gt=alarm.first_occurred_at).order_by("first_occurred_at")[
            :EPISODE_LIMIT
        ]
    )
    return earlier, later


def _alarm_context(request: HttpRequest, alarm: Alarm, **extra: Any) -> dict[str, Any]:
    timeline = alarm_timeline(alarm)
    earlier, later = _episodes(alarm)
    can_view_deliveries = request.user.has_perm(VIEW_DELIVERY)
    deliveries: list[Delivery] = []
    explanation = None
    if can_view_deliveries:
        latest_first = deliveries_of(alarm.pk).defer("body").order_by("-received_at", "-id")
        deliveries = list(reversed(latest_first[:DELIVERY_LIMIT]))
        if deliveries:
            latest = Delivery.objects.select_related("endpoint").get(pk=deliveries[-1].pk)
            explanation = explain_delivery(latest)
    return {
        "title": _describe(alarm),
        "alarm": alarm,
        "instance_ips": instance_ips(alarm),
        "timeline": _timeline_entries(timeline.events),
        "timeline_truncated": timeline.events_truncated,
        "notes": timeline.notes,
        "notes_truncated": timeline.notes_truncated,
        "earlier": earlier,
        "later": later,
        "can_view_deliveries": can_view_deliveries,
        "link_deliveries": request.user.is_staff and can_view_deliveries,
        "deliveries": deliveries,
        "explanation": explanation,
        # From the timeline already loaded: no query of its own.
        "was_silenced": any(e.type == EventType.SILENCED for e in timeline.events),
        **_actor_context(request),
        **extra,
    }


@require_GET
@login_required
@permission_required(VIEW_ALARM, raise_exception=True)
def alarm_detail(request: HttpRequest, pk: int) -> HttpResponse:
    alarm = get_object_or_404(with_stale(alarm_list_queryset()), pk=pk)
    return render(request, "alarms/alarm_detail.html", _alarm_context(request, alarm))


@require_POST
@login_required
def add_alarm_note(request: HttpRequest, pk: int) -> HttpResponse:
    """Add a note (services.operator.add_note); an invalid note is explained beside the box."""
    alarm = get_object_or_404(alarm_list_queryset(), pk=pk)
    text = request.POST.get("text", "")
    errors: list[str] = []
    try:
        add_note(alarm=alarm, author=request.user, text=text)
    except ValidationError as exc:
        errors = exc.messages
    htmx = bool(request.headers.get("HX-Request"))
    if htmx:
        timeline = alarm_timeline(alarm)
        context = {
            "alarm": alarm,
            "notes": timeline.notes,
            "notes_truncated": timeline.notes_truncated,
            "note_errors": errors,
            "note_text": text if errors else "",
            **_actor_context(request),
        }
        # 200 even for an invalid note: htmx swaps only successful responses.
        return render(request, "alarms/_alarm_notes.html", context)
    if errors:
        context = _alarm_context(request, alarm, note_errors=errors, note_text=text)
        return render(request, "alarms/alarm_detail.html", context, status=400)
    return HttpResponseRedirect(reverse("alarms:alarm", args=[pk]) + "#notes")


# --- the operator's zone -----------------------------------------------------------------------


@require_POST
def set_timezone(request: HttpRequest) -> HttpResponse:
    """The header's zone picker: remember a valid IANA zone in the cookie, ignore anything else.

    With "Remember this zone" ticked the zone also becomes the user's saved preference (which
    wins over the cookie on every device); left unticked, a saved preference is forgotten.
    """
    from ..services.preferences import save_time_zone  # kept inside: this view's edit only

    response = HttpResponseRedirect(_safe_next(request, "/"))
    name = request.POST.get("tz", "")
    zone = parse_zone(name)
    if zone is not None:
        response.set_cookie(COOKIE_NAME, name, max_age=COOKIE_MAX_AGE, samesite="Lax")
        # "remember_offered": the form showed the box, so its absence means "unticked".
        if request.user.is_authenticated and request.POST.get("remember_offered"):
            save_time_zone(user=request.user, zone=zone if request.POST.get("remember") else None)
    return response
