"""The operator's side of AlarmAdmin: acknowledge, unacknowledge and annotate, one or in bulk.

Each is a permission-checked POST URL or action that calls ``alarms.services.operator`` and says
what it did.
"""

from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from ..models import Alarm
from ..permissions import ACKNOWLEDGE_ALARM, ANNOTATE_ALARM
from ..services.operator import (
    MAX_NOTE_LENGTH,
    acknowledge_alarm,
    add_note,
    bulk_acknowledge,
    bulk_unacknowledge,
    unacknowledge_alarm,
)

# Bulk acknowledge runs one short transaction per alarm inside the request; "select all"
# across an alarm storm must not turn into a request that outlives the proxy timeout.
BULK_ACTION_LIMIT = 2000


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
    )


class AlarmOperationsAdmin(admin.ModelAdmin):
    """AlarmAdmin's URLs, views and actions for operators (registered as AlarmAdmin)."""

    def has_acknowledge_permission(self, request: HttpRequest, obj: Alarm | None = None) -> bool:
        return request.user.has_perm(ACKNOWLEDGE_ALARM)

    def has_annotate_permission(self, request: HttpRequest, obj: Alarm | None = None) -> bool:
        return request.user.has_perm(ANNOTATE_ALARM)

    def get_urls(self) -> list[URLPattern]:
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view  # staff login, CSRF, never_cache
        custom = [
            path(
                "<path:object_id>/acknowledge/",
                wrap(require_POST(self.acknowledge_view)),
                name="{}_{}_acknowledge".format(*info),
            ),
            path(
                "<path:object_id>/unacknowledge/",
                wrap(require_POST(self.unacknowledge_view)),
                name="{}_{}_unacknowledge".format(*info),
            ),
            path(
                "<path:object_id>/notes/",
                wrap(require_POST(self.add_note_view)),
                name="{}_{}_add_note".format(*info),
            ),
        ]
        return custom + super().get_urls()  # before the catch-all "<path:object_id>/"

    def _alarm_for_operation(self, request: HttpRequest, object_id: str, allowed: bool) -> Alarm:
        if not (allowed and self.has_view_permission(request)):
            raise PermissionDenied
        alarm = self.get_object(request, unquote(object_id))
        if alarm is None:
            raise Http404(gettext("No such alarm."))
        return alarm

    def _back_to(self, alarm: Alarm) -> HttpResponseRedirect:
        info = self.opts.app_label, self.opts.model_name
        return HttpResponseRedirect(reverse("admin:{}_{}_change".format(*info), args=[alarm.pk]))

    def acknowledge_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        alarm = self._alarm_for_operation(
            request, object_id, self.has_acknowledge_permission(request)
        )
        was_acknowledged = alarm.acknowledged_at is not None
        acknowledge_alarm(alarm=alarm, actor=request.user)
        if was_acknowledged:
            self.message_user(
                request, gettext("The alarm was already acknowledged."), messages.INFO
            )
        else:
            self.message_user(request, gettext("Alarm acknowledged."), messages.SUCCESS)
        return self._back_to(alarm)

    def unacknowledge_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        alarm = self._alarm_for_operation(
            request, object_id, self.has_acknowledge_permission(request)
        )
        was_acknowledged = alarm.acknowledged_at is not None
        unacknowledge_alarm(alarm=alarm, actor=request.user)
        if was_acknowledged:
            self.message_user(request, gettext("Acknowledgement withdrawn."), messages.SUCCESS)
        else:
            self.message_user(request, gettext("The alarm was not acknowledged."), messages.INFO)
        return self._back_to(alarm)

    def add_note_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        alarm = self._alarm_for_operation(request, object_id, self.has_annotate_permission(request))
        form = NoteForm(request.POST)
        if not form.is_valid():
            # An ErrorList yields its messages as text; its stubs also allow ValidationError.
            for error in form.errors.get("text", []):
                self.message_user(request, str(error), messages.ERROR)
            return self._back_to(alarm)
        try:
            add_note(alarm=alarm, author=request.user, text=form.cleaned_data["text"])
        except ValidationError as exc:
            for error in exc.messages:
                self.message_user(request, error, messages.ERROR)
        else:
            self.message_user(request, gettext("Note added."), messages.SUCCESS)
        return self._back_to(alarm)

    # -- changelist actions --

    def _selected_ids(self, request: HttpRequest, queryset: QuerySet[Alarm]) -> list[int] | None:
        ids = list(queryset.values_list("pk", flat=True)[: BULK_ACTION_LIMIT + 1])
        if len(ids) > BULK_ACTION_LIMIT:
            self.message_user(
                request,
                gettext("At most %(limit)d alarms can be changed at once; narrow the filters.")
                % {"limit": BULK_ACTION_LIMIT},
                messages.ERROR,
            )
            return None
        return ids

    @admin.action(permissions=["acknowledge"], description=_("Acknowledge selected alarms"))
    def acknowledge_selected(self, request: HttpRequest, queryset: QuerySet[Alarm]) -> None:
        self._bulk_change(
            request,
            queryset,
            bulk_acknowledge,
            lambda n: ngettext(
                "%(count)d alarm acknowledged.", "%(count)d alarms acknowledged.", n
            ),
            lambda n: ngettext(
                "%(count)d was already acknowledged.", "%(count)d were already acknowledged.", n
            ),
        )

    @admin.action(permissions=["acknowledge"], description=_("Unacknowledge selected alarms"))
    def unacknowledge_selected(self, request: HttpRequest, queryset: QuerySet[Alarm]) -> None:
        self._bulk_change(
            request,
            queryset,
            bulk_unacknowledge,
            lambda n: ngettext(
                "%(count)d alarm unacknowledged.", "%(count)d alarms unacknowledged.", n
            ),
            lambda n: ngettext(
                "%(count)d was not acknowledged.", "%(count)d were not acknowledged.", n
            ),
        )

    def _bulk_change(
        self,
        request: HttpRequest,
        queryset: QuerySet[Alarm],
        service: Callable[..., int],
        changed_text: Callable[[int], str],
        unchanged_text: Callable[[int], str],
    ) -> None:
        """Run a bulk service on the selection and report how many changed and how many not."""
        ids = self._selected_ids(request, queryset)
        if ids is None:
            return
        changed = service(alarm_ids=ids, actor=request.user)
        message = changed_text(changed) % {"count": changed}
        unchanged = len(ids) - changed
        if unchanged:
            message += " " + unchanged_text(unchanged) % {"count": unchanged}
        self.message_user(request, message, messages.SUCCESS if changed else messages.INFO)
