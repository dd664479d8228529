"""Saved board views in the console: save the current filter, delete, choose the landing view.

The rules live in ``services.views``; these views translate them into redirects and messages.
The board's URL is served here first so that a visit without a filter can land on the default
shared view; ``?all=1`` (the board's "Clear" link) always shows the unfiltered board.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from ..models import Alarm, SavedView
from ..permissions import VIEW_ALARM
from ..services.views import (
    can_delete_view,
    can_set_default_view,
    can_share_views,
    create_saved_view,
    delete_saved_view,
    set_default_view,
)
from . import views as board_views
from .filters import ConsoleAlarmFilterSet
from .querystrings import cleaned_filter_query

# Board parameters that are not filters: paging, and the "show everything" switch.
NOT_FILTERS = ("before", "before_id", "after", "after_id", "all")


def visible_views(user: object) -> QuerySet[SavedView]:
    """The user's own views and everyone's shared ones, by name (one query when read)."""
    return SavedView.objects.filter(
        Q(owner_id=getattr(user, "pk", None)) | Q(shared=True)
    ).order_by("name", "id")


def view_url(view: SavedView) -> str:
    board = reverse("alarms:dashboard")
    # An empty saved filter still needs a query, or the board would redirect to the default.
    return f"{board}?{view.query}" if view.query else f"{board}?all=1"


@login_required
@permission_required(VIEW_ALARM, raise_exception=True)
def board(request: HttpRequest) -> HttpResponse:
    """The board; without any query string it shows the default shared view, if there is one."""
    if not request.GET and not request.headers.get("HX-Request"):
        default = SavedView.objects.filter(is_default=True, shared=True).first()
        if default is not None:
            return HttpResponseRedirect(view_url(default))
    return board_views.dashboard(request)


def _board_query(raw: str) -> str | None:
    """The canonical form of a board query string, or None when its filter is invalid."""
    data = QueryDict(raw, mutable=True)
    for name in NOT_FILTERS:
        data.pop(name, None)
    filterset = ConsoleAlarmFilterSet(data, queryset=Alarm.objects.none())
    return cleaned_filter_query(filterset) if filterset.is_valid() else None


@require_POST
@login_required
def save_view(request: HttpRequest) -> HttpResponse:
    query = _board_query(request.POST.get("query", ""))
    if query is None:
        messages.error(request, _("Correct the filter before saving it."))
        return HttpResponseRedirect(board_views._safe_next(request, reverse("alarms:dashboard")))
    try:
        view = create_saved_view(
            owner=request.user,
            name=request.POST.get("name", ""),
            query=query,
            shared=bool(request.POST.get("shared")),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseRedirect(board_views._safe_next(request, reverse("alarms:dashboard")))
    messages.success(request, _("Saved the view “%(name)s”.") % {"name": view.name})
    return HttpResponseRedirect(view_url(view))


@require_POST
@login_required
def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(visible_views(request.user), pk=pk)
    delete_saved_view(actor=request.user, view=view)
    messages.success(request, _("Deleted the view “%(name)s”.") % {"name": view.name})
    return HttpResponseRedirect(reverse("alarms:saved_views"))


@require_POST
@login_required
def make_default(request: HttpRequest, pk: int) -> HttpResponse:
    """Make a shared view the landing view; with ``undo``, have no default any more."""
    view = get_object_or_404(visible_views(request.user), pk=pk)
    try:
        if request.POST.get("undo"):
            set_default_view(actor=request.user, view=None)
            messages.success(request, _("The board lands on all alarms again."))
        else:
            set_default_view(actor=request.user, view=view)
            messages.success(request, _("“%(name)s” is the default view.") % {"name": view.name})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return HttpResponseRedirect(reverse("alarms:saved_views"))


@require_GET
@login_required
@permission_required(VIEW_ALARM, raise_exception=True)
def saved_view_list(request: HttpRequest) -> HttpResponse:
    rows = [
        {
            "view": view,
            "url": view_url(view),
            "can_delete": can_delete_view(request.user, view),
        }
        for view in visible_views(request.user).select_related("owner")
    ]
    context = {
        "title": _("Saved views"),
        "nav": "views",
        "rows": rows,
        "can_share": can_share_views(request.user),
        "can_set_default": can_set_default_view(request.user),
    }
    return render(request, "alarms/saved_views.html", context)
