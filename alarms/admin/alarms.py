"""AlarmAdmin: the alarm list and page, where operators acknowledge and annotate.

Operators never edit alarm fields: acknowledging and annotating have their own permission-checked
URLs, and every change goes through ``alarms.services.operator``.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..choices import AlarmStatus
from ..display import actor_label, condition_text
from ..filters.filtersets import SEARCH_FIELDS
from ..models import Alarm, AlarmEvent, Delivery, Note
from ..permissions import VIEW_DELIVERY
from ..selectors.alarms import alarm_list_queryset, search_alarms
from ..selectors.timeline import alarm_timeline
from .display import (
    EMPTY_DISPLAY,
    admin_link,
    changelist_url,
    humanize_duration,
    pretty_json,
    status_badge,
    viewing_user,
    with_viewing_user,
)
from .filters import (
    AcknowledgedFilter,
    AlarmChangeList,
    KindFilter,
    LevelFilter,
    NamespaceFilter,
    PolicyTypeFilter,
    RegionFilter,
    StatusFilter,
)
from .operations import AlarmOperationsAdmin, NoteForm
from .scale import ReadOnlyAdminMixin, ScalableAdminMixin


@admin.register(Alarm)
class AlarmAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, AlarmOperationsAdmin):
    list_display = (
        "id",
        "status_display",
        "level",
        "namespace",
        "region",
        "policy",
        "instance",
        "subject_display",
        "first_occurred_at",
        "duration_display",
        "notification_count",
        "acknowledged_by_display",
    )
    list_display_links = ("id", "status_display")
    # The first six speak the API's parameter names (filters.AlarmChangeList applies them).
    list_filter = (
        NamespaceFilter,
        RegionFilter,
        StatusFilter,
        AcknowledgedFilter,
        KindFilter,
        LevelFilter,
        ("policy__policy_type", PolicyTypeFilter),
        "endpoint",
        "flapping",
        "superseded",
    )
    list_select_related = ("policy", "instance", "acknowledged_by", "endpoint")
    date_hierarchy = "first_occurred_at"
    search_fields = SEARCH_FIELDS  # shows the box; get_search_results runs the API's `q`
    search_help_text = _("Policy name or id, instance id or name, metric or event name.")
    ordering = ("-first_occurred_at", "-id")
    # Only orders an index serves: any other ORDER BY sorts the whole table for 50 rows.
    sortable_by = ("id", "first_occurred_at")
    raw_id_fields = ("policy", "instance", "acknowledged_by", "endpoint")
    actions = ("acknowledge_selected", "unacknowledge_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "status_display",
                    "kind",
                    "level",
                    "subject_display",
                    "policy_link",
                    "instance_link",
                    "namespace",
                    "region",
                    "endpoint",
                )
            },
        ),
        (
            _("Lifecycle"),
            {
                "fields": (
                    "first_occurred_at",
                    "recovered_at",
                    "last_notified_at",
                    "duration_display",
                    "notification_count",
                    "trigger_seen",
                    "superseded",
                    "flapping",
                    "deliveries_link",
                )
            },
        ),
        (
            _("Acknowledgement"),
            {"fields": ("acknowledged_by_display", "acknowledged_at", "note_count")},
        ),
        (
            _("Condition"),
            {
                "fields": (
                    "metric_name",
                    "metric_display_name",
                    "operator",
                    "threshold",
                    "unit",
                    "period_seconds",
                    "current_value",
                    "event_name",
                    "event_display_name",
                )
            },
        ),
        (
            _("Details"),
            {
                "classes": ("collapse",),
                "fields": (
                    "dimensions_display",
                    "extras_display",
                    "fingerprint",
                    "created_at",
                    "updated_at",
                ),
            },
        ),
    )
    readonly_fields = tuple(flatten_fieldsets(fieldsets))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return search_alarms(queryset, term[:200]), False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alarm]:
        return alarm_list_queryset()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AlarmChangeList

    # -- columns and read-only fields --

    def action_checkbox(self, obj: Alarm) -> SafeString:
        """Django's row checkbox with the markup its CheckboxInput writes, without rendering
        the widget's template for each of 100 rows (a fifth of the change list's time)."""
        label = format_html(gettext("Select this object for an action - {}"), str(obj))
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            ACTION_CHECKBOX_NAME,
            str(obj.pk),
            label,
        )

    @admin.display(description=_("status"))
    def status_display(self, obj: Alarm) -> SafeString:
        status = AlarmStatus(obj.status)
        flags = []
        if obj.superseded:
            flags.append(gettext("superseded"))
        if obj.flapping:
            flags.append(gettext("flapping"))
        if not obj.trigger_seen and obj.status == AlarmStatus.RECOVERED:
            flags.append(gettext("trigger not seen"))
        badge = status_badge(status.label, status.colour)
        if not flags:
            return badge
        return format_html('{} <span class="alarmhub-flags">{}</span>', badge, " · ".join(flags))

    @admin.display(description=_("metric / event"))
    def subject_display(self, obj: Alarm) -> str:
        return condition_text(obj)

    @admin.display(description=_("duration"))
    def duration_display(self, obj: Alarm) -> str:
        return humanize_duration(obj.duration_seconds)

    @admin.display(description=_("acknowledged by"))
    def acknowledged_by_display(self, obj: Alarm) -> str:
        if obj.acknowledged_at is None:
            return EMPTY_DISPLAY
        return actor_label(obj.acknowledged_by)

    @admin.display(description=_("policy"))
    def policy_link(self, obj: Alarm) -> Any:
        return admin_link(viewing_user(obj), obj.policy)

    @admin.display(description=_("instance"))
    def instance_link(self, obj: Alarm) -> Any:
        return admin_link(viewing_user(obj), obj.instance)

    @admin.display(description=_("deliveries"))
    def deliveries_link(self, obj: Alarm) -> Any:
        user = viewing_user(obj)
        if user is None or not user.has_perm(VIEW_DELIVERY):
            return EMPTY_DISPLAY
        url = changelist_url(Delivery, alarm__id__exact=obj.pk)
        return format_html('<a href="{}">{}</a>', url, gettext("Deliveries of this alarm"))

    @admin.display(description=_("dimensions"))
    def dimensions_display(self, obj: Alarm) -> SafeString:
        return pretty_json(obj.dimensions)

    @admin.display(description=_("other fields"))
    def extras_display(self, obj: Alarm) -> SafeString:
        return pretty_json(obj.extras)

    # -- change page: timeline, notes and operator buttons --

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        return with_viewing_user(super().get_object(request, object_id, from_field), request)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Alarm | None = None,
    ) -> HttpResponse:
        if obj is not None:
            context.update(self._operations_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _operations_context(self, request: HttpRequest, alarm: Alarm) -> dict[str, Any]:
        info = self.opts.app_label, self.opts.model_name
        timeline = alarm_timeline(alarm)
        return {
            "timeline": timeline.events,
            "timeline_truncated": timeline.events_truncated,
            "timeline_url": changelist_url(AlarmEvent, alarm__id__exact=alarm.pk),
            "notes": timeline.notes,
            "notes_truncated": timeline.notes_truncated,
            "notes_url": changelist_url(Note, alarm__id__exact=alarm.pk),
            "can_view_deliveries": request.user.has_perm(VIEW_DELIVERY),
            "can_acknowledge": self.has_acknowledge_permission(request, alarm),
            "can_annotate": self.has_annotate_permission(request, alarm),
            "note_form": NoteForm(),
            "acknowledge_url": reverse("admin:{}_{}_acknowledge".format(*info), args=[alarm.pk]),
            "unacknowledge_url": reverse(
                "admin:{}_{}_unacknowledge".format(*info), args=[alarm.pk]
            ),
            "add_note_url": reverse("admin:{}_{}_add_note".format(*info), args=[alarm.pk]),
        }
