"""Silences in the console (DESIGN §6, issue 12 item 6): the list, and a form to create one
from the board's current filter or from an alarm ("Silence…").

Every role reads; writing is ``alarms.services.silences``' decision (Operators, or holders of
``manage_channel``): its PermissionDenied becomes a 403, so a Viewer's forged POST changes
nothing. Times in the form are read in the operator's zone, and a weekly recurrence runs in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from alarmhub.security import client_ip

from ..models import Alarm, Silence
from ..permissions import VIEW_SILENCE, check_can_manage_silences
from ..services.silences import create_silence, delete_silence, in_force, update_silence
from .filters import ConsoleAlarmFilterSet
from .querystrings import filter_pairs

if TYPE_CHECKING:
    from ..permissions import Actor

# Board parameters that are not filters: paging and the "show everything" switch.
NOT_FILTERS = ("before", "before_id", "after", "after_id", "page", "all")
EXPIRED_SHOWN = 50
DEFAULT_LENGTH = timedelta(hours=2)
_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]
WEEKDAYS = [
    (0, gettext_lazy("Mon")),
    (1, gettext_lazy("Tue")),
    (2, gettext_lazy("Wed")),
    (3, gettext_lazy("Thu")),
    (4, gettext_lazy("Fri")),
    (5, gettext_lazy("Sat")),
    (6, gettext_lazy("Sun")),
]


def can_manage(actor: Actor) -> bool:
    """Whether the create form (and the end/delete buttons) are shown: the service's check."""
    try:
        check_can_manage_silences(actor, "add")
    except PermissionDenied:
        return False
    return True


def board_filter(params: QueryDict) -> tuple[dict[str, list[str]], list[tuple[str, str]]] | None:
    """A board query as a silence filter (name → values) and its canonical pairs; None when
    the filter is invalid. The console's conveniences (commas, local times) are resolved here
    exactly as the board resolves them."""
    data = params.copy()
    for name in NOT_FILTERS:
        data.pop(name, None)
    filterset = ConsoleAlarmFilterSet(data, queryset=Alarm.objects.none())
    if not filterset.is_valid():
        return None
    pairs = filter_pairs(filterset.form.cleaned_data)
    grouped: dict[str, list[str]] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    return grouped, pairs


class SilenceForm(forms.Form):
    """What a person types; ``create_silence`` validates the rest (filter, window)."""

    comment = forms.CharField(
        label=gettext_lazy("Comment"), max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    starts_at = forms.DateTimeField(
        label=gettext_lazy("Starts"),
        input_formats=_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    ends_at = forms.DateTimeField(
        label=gettext_lazy("Ends"),
        input_formats=_INPUT_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    weekly = forms.BooleanField(label=gettext_lazy("Repeat weekly"), required=False)
    weekdays = forms.TypedMultipleChoiceField(
        label=gettext_lazy("On"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    start_time = forms.TimeField(
        label=gettext_lazy("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    end_time = forms.TimeField(
        label=gettext_lazy("To"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    # The board filter as a canonical query string (what "Silence…" carried here).
    query = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("weekly"):
            for name in ("weekdays", "start_time", "end_time"):
                if not cleaned.get(name):
                    self.add_error(name, _("A weekly silence needs days and times."))
        return cleaned

    def recurrence(self) -> dict[str, Any] | None:
        cleaned = self.cleaned_data
        if not cleaned.get("weekly"):
            return None
        return {
            "weekdays": cleaned["weekdays"],
            "start_time": cleaned["start_time"].strftime("%H:%M"),
            "end_time": cleaned["end_time"].strftime("%H:%M"),
            # The operator's zone: "weekdays 22:00-06:00" means their nights.
            "timezone": timezone.get_current_timezone_name(),
        }


@dataclass(frozen=True)
class SilenceRow:
    silence: Silence
    filter_text: str
    board_url: str
    in_force: bool


def _row(silence: Silence, now: datetime) -> SilenceRow:
    pairs = [(name, value) for name, values in (silence.filter or {}).items() for value in values]
    board = reverse("alarms:dashboard")
    return SilenceRow(
        silence=silence,
        filter_text=" · ".join(f"{name}={value}" for name, value in pairs),
        board_url=f"{board}?{urlencode(pairs)}" if pairs else f"{board}?all=1",
        in_force=in_force(silence, now),
    )


def _initial_form(filter_query: str) -> SilenceForm:
    start = timezone.localtime().replace(second=0, microsecond=0)
    return SilenceForm(
        initial={"starts_at": start, "ends_at": start + DEFAULT_LENGTH, "query": filter_query}
    )


def _page(
    request: HttpRequest, *, form: SilenceForm | None, params: QueryDict, status: int = 200
) -> HttpResponse:
    now = timezone.now()
    current = list(
        Silence.objects.filter(ends_at__gte=now)
        .select_related("created_by")
        .order_by("starts_at", "id")
    )
    expired = list(
        Silence.objects.filter(ends_at__lt=now)
        .select_related("created_by")
        .order_by("-ends_at", "-id")[:EXPIRED_SHOWN]
    )
    manage = can_manage(request.user)
    parsed = board_filter(params)
    filter_error = parsed is None
    filter_values, pairs = parsed or ({}, [])
    if manage and form is None:
        form = _initial_form(urlencode(pairs))
    context = {
        "title": _("Silences"),
        "nav": "silences",
        "sections": [
            {
                "key": "active",
                "heading": _("Active"),
                "rows": [_row(s, now) for s in current if s.starts_at <= now],
                "empty": _("No silence is active."),
            },
            {
                "key": "upcoming",
                "heading": _("Upcoming"),
                "rows": [_row(s, now) for s in current if s.starts_at > now],
                "empty": _("No silence is planned."),
            },
            {
                "key": "expired",
                "heading": _("Expired"),
                "rows": [_row(s, now) for s in expired],
                "empty": _("None yet."),
            },
        ],
        "expired_limit": EXPIRED_SHOWN,
        "can_manage": manage,
        "form": form if manage else None,
        "filter_text": " · ".join(f"{name}={value}" for name, value in pairs),
        "filter_values": filter_values,
        "filter_error": filter_error,
        "zone": timezone.get_current_timezone_name(),
    }
    return render(request, "alarms/silences.html", context, status=status)


@require_GET
@login_required
@permission_required(VIEW_SILENCE, raise_exception=True)
def silence_list(request: HttpRequest) -> HttpResponse:
    """The list; the query string (the board's filter, or an alarm's) prefills the form."""
    return _page(request, form=None, params=request.GET)


@require_POST
@login_required
def create(request: HttpRequest) -> HttpResponse:
    # Before reading the form: a Viewer's forged POST is refused whatever it carries.
    check_can_manage_silences(request.user, "add")
    form = SilenceForm(request.POST)
    params = QueryDict(request.POST.get("query", ""))
    parsed = board_filter(params)
    if not form.is_valid() or parsed is None:
        if parsed is None:
            form.add_error(None, _("The filter is not valid: start again from the board."))
        return _page(request, form=form, params=params, status=400)
    try:
        silence = create_silence(
            actor=request.user,
            comment=form.cleaned_data["comment"],
            starts_at=form.cleaned_data["starts_at"],
            ends_at=form.cleaned_data["ends_at"],
            filter=parsed[0],
            recurrence=form.recurrence(),
            remote_addr=client_ip(request),
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _page(request, form=form, params=params, status=400)
    messages.success(request, _("Created silence #%(id)d.") % {"id": silence.pk})
    return HttpResponseRedirect(reverse("alarms:silences") + f"#silence-{silence.pk}")


@require_POST
@login_required
def end(request: HttpRequest, pk: int) -> HttpResponse:
    """End a silence now; one that has not started yet is deleted (it never muted anything)."""
    check_can_manage_silences(request.user, "change")
    silence = get_object_or_404(Silence, pk=pk)
    now = timezone.now()
    if silence.starts_at > now:
        delete_silence(silence=silence, actor=request.user, remote_addr=client_ip(request))
        messages.success(request, _("Deleted silence #%(id)d.") % {"id": pk})
    elif silence.ends_at >= now:
        update_silence(
            silence=silence, actor=request.user, ends_at=now, remote_addr=client_ip(request)
        )
        messages.success(request, _("Ended silence #%(id)d.") % {"id": pk})
    return HttpResponseRedirect(reverse("alarms:silences"))
