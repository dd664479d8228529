"""AlarmHub's own dashboard: a live, filterable alarm list (server-rendered, htmx refresh)."""

from __future__ import annotations

from datetime import datetime

from django.contrib import admin, messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required, permission_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ..filters.filtersets import AlarmFilterSet
from ..models import Alarm
from ..permissions import ACKNOWLEDGE_ALARM, VIEW_ALARM
from ..selectors.alarms import BOARD_ORDER, alarm_list_queryset, firing_counts_by_namespace
from ..selectors.paging import rows_after
from ..services.operator import acknowledge_alarm, unacknowledge_alarm

PAGE_SIZE = 100


class LoginView(auth_views.LoginView):
    """The admin's login page, for every user with a role (staff or not)."""

    template_name = "admin/login.html"

    def get_context_data(self, **kwargs: object) -> dict[str, object]:
        return {**super().get_context_data(**kwargs), **admin.site.each_context(self.request)}


def _older_than(queryset: QuerySet[Alarm], request: HttpRequest) -> QuerySet[Alarm]:
    """Keyset pagination on (first_occurred_at, id): no OFFSET, no COUNT(*), stable on insert."""
    before = parse_datetime(request.GET.get("before", ""))
    before_id = request.GET.get("before_id", "")
    if before is None or not before_id.isdigit():
        return queryset
    return queryset.filter(rows_after(BOARD_ORDER, (before, int(before_id))))


def _next_page_query(request: HttpRequest, last: Alarm) -> str:
    params = request.GET.copy()
    params["before"] = last.first_occurred_at.isoformat()
    params["before_id"] = str(last.pk)
    return params.urlencode()


@login_required
@permission_required(VIEW_ALARM, raise_exception=True)
def dashboard(request: HttpRequest) -> HttpResponse:
    filterset = AlarmFilterSet(request.GET, queryset=alarm_list_queryset())
    alarms: list[Alarm] = []
    if filterset.is_valid():
        alarms = list(_older_than(filterset.qs, request)[: PAGE_SIZE + 1])
    has_more = len(alarms) > PAGE_SIZE
    alarms = alarms[:PAGE_SIZE]
    counts = firing_counts_by_namespace()
    context = {
        **admin.site.each_context(request),
        "title": _("Alarms"),
        "filterset": filterset,
        "alarms": alarms,
        "next_query": _next_page_query(request, alarms[-1]) if has_more else "",
        "firing_by_namespace": counts,
        "firing_total": sum(int(row["count"]) for row in counts),  # type: ignore[call-overload]
        "can_acknowledge": request.user.has_perm(ACKNOWLEDGE_ALARM),
        "generated_at": datetime.now().astimezone(),
    }
    template = (
        "alarms/_alarm_table.html" if request.headers.get("HX-Request") else "alarms/dashboard.html"
    )
    return render(request, template, context)


@require_POST
@login_required
def acknowledge(request: HttpRequest, pk: int) -> HttpResponse:
    alarm = get_object_or_404(Alarm, pk=pk)
    if request.POST.get("undo"):
        unacknowledge_alarm(alarm=alarm, actor=request.user)
        messages.success(request, _("Alarm #%(id)s unacknowledged.") % {"id": pk})
    else:
        acknowledge_alarm(alarm=alarm, actor=request.user)
        messages.success(request, _("Alarm #%(id)s acknowledged.") % {"id": pk})
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        target = "/"
    return HttpResponseRedirect(target)
