"""The board's bulk bar: acknowledge or unacknowledge the selected rows, optionally with a note.

The services decide who may act (PermissionDenied → 403 for a Viewer's forged POST). An htmx
request gets the board's table back, re-rendered for the filters it was showing; without
JavaScript the form posts and redirects back to the board.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.views.decorators.http import require_POST

from ..filters.fields import MAX_VALUES
from ..models import Alarm
from ..permissions import check_can_acknowledge, check_can_annotate
from ..services.operator import MAX_NOTE_LENGTH, add_note, bulk_acknowledge, bulk_unacknowledge
from .views import board_context

# The board shows 100 rows a page; more ids than the filter vocabulary's bound is not a board.
MAX_SELECTED = MAX_VALUES


def _selected_ids(request: HttpRequest) -> list[int]:
    ids = {int(v) for v in request.POST.getlist("alarm") if v.isdigit() and len(v) < 19}
    return sorted(ids)[:MAX_SELECTED]


@require_POST
@login_required
def bulk_action(request: HttpRequest) -> HttpResponse:
    """``action=acknowledge|unacknowledge`` on the ``alarm`` ids posted, and the note if any."""
    check_can_acknowledge(request.user)
    ids = _selected_ids(request)
    note = request.POST.get("note", "").strip()
    undo = request.POST.get("action") == "unacknowledge"
    if note:
        check_can_annotate(request.user)  # before acting: all or nothing
    if not ids:
        messages.warning(request, gettext("Select at least one alarm."))
    elif len(note) > MAX_NOTE_LENGTH:
        messages.error(
            request, gettext("A note is at most %(max)d characters.") % {"max": MAX_NOTE_LENGTH}
        )
        ids = []
    elif undo:
        changed = bulk_unacknowledge(alarm_ids=ids, actor=request.user)
        messages.success(
            request,
            ngettext("%(count)d alarm unacknowledged.", "%(count)d alarms unacknowledged.", changed)
            % {"count": changed},
        )
    else:
        changed = bulk_acknowledge(alarm_ids=ids, actor=request.user)
        messages.success(
            request,
            ngettext("%(count)d alarm acknowledged.", "%(count)d alarms acknowledged.", changed)
            % {"count": changed},
        )
    if ids and note:
        try:
            for alarm in Alarm.objects.filter(pk__in=ids).only("pk"):
                add_note(alarm=alarm, author=request.user, text=note)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    # The filters the board was showing (its own query string), so the table stays as it was.
    params = QueryDict(request.POST.get("board_query", ""))
    if not request.headers.get("HX-Request"):
        query = params.urlencode()
        return HttpResponseRedirect(reverse("alarms:dashboard") + (f"?{query}" if query else ""))
    context = board_context(request, params)
    return render(request, "alarms/_bulk_response.html", context)
