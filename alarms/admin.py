"""The Django admin as AlarmHub's ops console (issue 5).

Everything here is presentation and permission checks: every change to an alarm or an endpoint
goes through ``alarms.services`` (acknowledge, annotate; create, change and rotate endpoints), and
re-processing goes through ``alarms.processing`` and ``alarms.ingest``.

The alarm and delivery tables grow without bound, so the changelists avoid whole-table work on
every render: no full COUNT(*) (``CappedCountPaginator``), no SELECT DISTINCT over alarms for
the namespace/region filters (``CachedValuesListFilter``) or the date drill-down (see
``alarms.templatetags.alarmhub_admin``), no facet counts, and sorting only by indexed columns.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator, format_lazy
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from .choices import AlarmLevel, AlarmStatus, DeliveryStatus
from .filters.filtersets import SEARCH_FIELDS
from .models import Alarm, AlarmEvent, CallbackEndpoint, Delivery, Instance, Note, Policy
from .permissions import ACKNOWLEDGE_ALARM, ANNOTATE_ALARM, REPROCESS_DELIVERY, VIEW_DELIVERY
from .pipeline.explain import explain_delivery
from .selectors.alarms import alarm_list_queryset, search_alarms
from .selectors.deliveries import with_alarm_ids
from .selectors.endpoints import ENDPOINT_CACHE_SECONDS
from .services.endpoints import (
    CALLBACK_PATH,
    NewEndpoint,
    create_callback_endpoint,
    rotate_endpoint_token,
    set_endpoint_basic_auth,
    update_callback_endpoint,
    validate_timezone,
)
from .services.operator import (
    MAX_NOTE_LENGTH,
    acknowledge_alarm,
    add_note,
    bulk_acknowledge,
    bulk_unacknowledge,
    unacknowledge_alarm,
)
from .tasks import requeue_for_reprocessing

admin.site.site_header = _("AlarmHub")
admin.site.site_title = _("AlarmHub")
admin.site.index_title = _("Operations console")
# The header links to the dashboard by name instead (templates/admin/base_site.html).
admin.site.site_url = None

# How many timeline entries and notes the alarm page shows; the rest are a link away.
TIMELINE_LIMIT = 200
# A sentinel for "the column is empty" in filter links ("" means "no filter" to the admin).
EMPTY_VALUE = "__empty__"
# What read-only fields show for "nothing" (the admin would print "None").
EMPTY_DISPLAY = "-"
# Bulk acknowledge runs one short transaction per alarm inside the request; "select all"
# across an alarm storm must not turn into a request that outlives the proxy timeout.
BULK_ACTION_LIMIT = 2000


# --- Scale helpers ---------------------------------------------------------------------------


class CappedCountPaginator(Paginator):
    """Counts at most ``count_cap`` rows, so a changelist never runs COUNT(*) over the table.

    We chose a cap over PostgreSQL's ``reltuples`` estimate as the page count: the capped count
    is exact for every filtered list an operator actually pages through, works the same on
    SQLite, and also bounds OFFSET (no "last page" link 30,000 pages deep). The count runs as
    ``SELECT COUNT(*) FROM (SELECT id ... LIMIT cap + 1)``, an index range scan of at most
    ``cap`` entries. When the cap is hit on an unfiltered PostgreSQL table, ``estimated_total``
    adds the planner's estimate to the footer (one pg_class lookup, no table scan).
    """

    count_cap = 10_000

    @cached_property
    def _counted(self) -> int:
        if not isinstance(self.object_list, QuerySet):
            return len(self.object_list)
        return self.object_list.order_by().values("pk")[: self.count_cap + 1].count()

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.count_cap)

    @cached_property
    def count_is_capped(self) -> bool:
        return self._counted > self.count_cap

    @cached_property
    def estimated_total(self) -> int | None:
        """PostgreSQL's row estimate for an unfiltered list, else None."""
        qs = self.object_list
        if not isinstance(qs, QuerySet) or qs.query.where:
            return None
        connection = connections[qs.db]
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(%s)",
                [qs.model._meta.db_table],
            )
            row = cursor.fetchone()
        # -1 means "never analysed"; an estimate below the cap is useless next to "10000+".
        return int(row[0]) if row and row[0] > self.count_cap else None


class ScalableAdminMixin:
    """Settings shared by every changelist over a large table."""

    paginator = CappedCountPaginator
    show_full_result_count = False  # would be a second, uncapped COUNT(*)
    show_facets = admin.ShowFacets.NEVER  # facets count every filter choice over the table
    list_per_page = 50


class ReadOnlyAdminMixin:
    """History and Tencent's facts: browsed in the admin, changed only by the services."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class CachedValuesListFilter(admin.SimpleListFilter):
    """Filter on a text column, offering its distinct values from a short-lived cache.

    Django's field filter runs ``SELECT DISTINCT column`` over the whole table on every
    changelist render. Namespaces and regions change rarely, so the choices are computed at
    most every ``cache_seconds`` (a brand-new value shows up after that; a selected value is
    always listed, so links from the dashboard work immediately).
    """

    field_name: str = ""
    cache_seconds = 300

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        key = f"alarmhub:admin:choices:{model_admin.opts.label_lower}:{self.field_name}"
        values: list[str] | None = cache.get(key)
        if values is None:
            values = list(
                model_admin.model._default_manager.order_by(self.field_name)
                .values_list(self.field_name, flat=True)
                .distinct()
            )
            cache.set(key, values, self.cache_seconds)
        current = self.value()
        if current and current != EMPTY_VALUE and current not in values:
            values = sorted([*values, current])
        return [(value or EMPTY_VALUE, value or gettext("(empty)")) for value in values]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(**{self.field_name: "" if value == EMPTY_VALUE else value})


class NamespaceFilter(CachedValuesListFilter):
    title = _("namespace")
    parameter_name = field_name = "namespace"


class RegionFilter(CachedValuesListFilter):
    title = _("region")
    parameter_name = field_name = "region"


class LevelFilter(admin.SimpleListFilter):
    """Tencent's alarm levels are a fixed vocabulary: no query needed for the choices."""

    title = _("level")
    parameter_name = "level"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [(choice.value or EMPTY_VALUE, choice.label) for choice in AlarmLevel]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        return queryset.filter(level="" if value == EMPTY_VALUE else value)


class PolicyTypeFilter(admin.AllValuesFieldListFilter):
    """Distinct policy types come from the (small) policy table, not from the alarms."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.title = _("policy type")


class AcknowledgedFilter(admin.SimpleListFilter):
    title = _("acknowledged")
    parameter_name = "acknowledged"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, Any]]:
        return [("yes", _("Yes")), ("no", _("No"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(acknowledged_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(acknowledged_at__isnull=True)
        return queryset


# --- Presentation helpers --------------------------------------------------------------------


def humanize_duration(seconds: int | None) -> str:
    """``5400`` → ``1 h 30 min``: the two most significant units."""
    if seconds is None:
        return "-"
    remaining = max(int(seconds), 0)
    days, remaining = divmod(remaining, 86400)
    hours, remaining = divmod(remaining, 3600)
    minutes, secs = divmod(remaining, 60)
    units = [
        (days, _("%(n)d d")),
        (hours, _("%(n)d h")),
        (minutes, _("%(n)d min")),
        (secs, _("%(n)d s")),
    ]
    parts = [str(label) % {"n": amount} for amount, label in units if amount]
    return " ".join(parts[:2]) or str(_("%(n)d s") % {"n": 0})


def pretty_json(value: Any) -> SafeString:
    """JSON (or text that may be JSON) as an escaped, indented ``<pre>`` block."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre class="alarmhub-pre">{}</pre>', text)


def pretty_body(body: bytes | memoryview | None) -> SafeString:
    """A raw delivery body for humans: pretty JSON when it parses, else the text as received."""
    if body is None:
        return format_html("<em>{}</em>", gettext("(pruned by retention)"))
    text = bytes(body).decode("utf-8", errors="replace")
    # Not JSON (or absurdly nested): show the text as received, still escaped.
    with contextlib.suppress(ValueError, RecursionError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return format_html('<pre class="alarmhub-pre">{}</pre>', text)


def status_badge(label: Any, colour: str) -> SafeString:
    return format_html(
        '<span class="alarmhub-badge" style="background-color: {}">{}</span>', colour, label
    )


def admin_link(user: Any, obj: Model | None, text: Any = None) -> Any:
    """A link to ``obj``'s admin page when ``user`` may view it, else its plain text."""
    if obj is None:
        return EMPTY_DISPLAY
    label = obj if text is None else text
    opts = obj._meta
    if user is None or not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return label
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label)


def with_viewing_user(obj: Model | None, request: HttpRequest) -> Any:
    """Remember who is looking at ``obj`` so read-only fields can link by permission.

    ModelAdmin instances are shared by all requests (and threads); the object fetched for this
    request is not, so that is where the user goes.
    """
    if obj is not None:
        obj._alarmhub_viewer = request.user  # type: ignore[attr-defined]
    return obj


def viewing_user(obj: Model) -> Any:
    return getattr(obj, "_alarmhub_viewer", None)


def changelist_url(model: type[Model], **params: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url


def alarm_subject(alarm: Alarm) -> str:
    """``disk_usage 96.739 > 95 %`` for a metric alarm, the event name for an event."""
    if alarm.kind == "event" or not alarm.metric_name:
        return alarm.event_display_name or alarm.event_name or "-"
    condition = " ".join(
        part for part in (alarm.current_value, alarm.operator, alarm.threshold) if part
    )
    text = f"{alarm.metric_name} {condition}".strip()
    return f"{text} {alarm.unit}".strip() if alarm.threshold else text


# --- Alarms ----------------------------------------------------------------------------------


class NoteForm(forms.Form):
    text = forms.CharField(
        label=_("Note"),
        max_length=MAX_NOTE_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3, "cols": 80}),
    )


class AlarmChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        # The list shows none of the JSON columns; leave them (and their parsing) out.
        qs = super().get_queryset(request, exclude_parameters)
        return qs.defer("dimensions", "extras", "instance__dimensions")


@admin.register(Alarm)
class AlarmAdmin(ScalableAdminMixin, admin.ModelAdmin):
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
    list_filter = (
        NamespaceFilter,
        RegionFilter,
        "status",
        AcknowledgedFilter,
        "kind",
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
    readonly_fields = tuple(field for _name, opts in fieldsets for field in opts["fields"])

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        return search_alarms(queryset, term[:200]), False

    # Operators never edit alarm fields: acknowledging and annotating have their own URLs.

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Alarm | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Alarm | None = None) -> bool:
        return False

    def has_acknowledge_permission(self, request: HttpRequest, obj: Alarm | None = None) -> bool:
        return request.user.has_perm(ACKNOWLEDGE_ALARM)

    def has_annotate_permission(self, request: HttpRequest, obj: Alarm | None = None) -> bool:
        return request.user.has_perm(ANNOTATE_ALARM)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Alarm]:
        return alarm_list_queryset()

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return AlarmChangeList

    # -- columns and read-only fields --

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
        return alarm_subject(obj)

    @admin.display(description=_("duration"))
    def duration_display(self, obj: Alarm) -> str:
        return humanize_duration(obj.duration_seconds)

    @admin.display(description=_("acknowledged by"))
    def acknowledged_by_display(self, obj: Alarm) -> str:
        if obj.acknowledged_at is None:
            return EMPTY_DISPLAY
        return obj.acknowledged_by.get_username() if obj.acknowledged_by else gettext("system")

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
    ) -> TemplateResponse:
        if obj is not None:
            context.update(self._operations_context(request, obj))
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _operations_context(self, request: HttpRequest, alarm: Alarm) -> dict[str, Any]:
        info = self.opts.app_label, self.opts.model_name
        events = list(
            alarm.events.select_related("actor").order_by("-occurred_at", "-id")[
                : TIMELINE_LIMIT + 1
            ]
        )
        notes = list(
            alarm.notes.select_related("author").order_by("-created_at", "-id")[
                : TIMELINE_LIMIT + 1
            ]
        )
        notes_by_id = {note.pk: note for note in notes}
        for event in events:
            note_id = event.details.get("note_id") if isinstance(event.details, dict) else None
            event.note = notes_by_id.get(note_id)  # type: ignore[attr-defined]
            event.detail_items = sorted(  # type: ignore[attr-defined]
                (key, value) for key, value in (event.details or {}).items() if key != "note_id"
            )
        return {
            "timeline": list(reversed(events[:TIMELINE_LIMIT])),
            "timeline_truncated": len(events) > TIMELINE_LIMIT,
            "timeline_url": changelist_url(AlarmEvent, alarm__id__exact=alarm.pk),
            "notes": list(reversed(notes[:TIMELINE_LIMIT])),
            "notes_truncated": len(notes) > TIMELINE_LIMIT,
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
            for error in form.errors.get("text", []):
                self.message_user(request, error, messages.ERROR)
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


# --- Deliveries ------------------------------------------------------------------------------


class DeliveryChangeList(ChangeList):
    def get_queryset(self, request: HttpRequest, exclude_parameters: Any = None) -> QuerySet:
        # Raw bodies are up to ALARMHUB_MAX_BODY_BYTES each; the list never shows them.
        return with_alarm_ids(super().get_queryset(request, exclude_parameters).defer("body"))


@admin.register(Delivery)
class DeliveryAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "endpoint",
        "status_display",
        "received_at",
        "session_id",
        "error_display",
        "attempts",
        "alarm_link",
    )
    list_filter = ("status", "endpoint")
    list_select_related = ("endpoint",)
    search_fields = ("session_id",)  # see get_search_results: exact, indexed matches only
    search_help_text = _("Exact sessionId, delivery id or body SHA-256.")
    ordering = ("-received_at", "-id")
    sortable_by = ("id", "received_at")
    raw_id_fields = ("endpoint", "duplicate_of")
    actions = ("reprocess_selected",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "endpoint",
                    "status_display",
                    "received_at",
                    "session_id",
                    "attempts",
                    "status_changed_at",
                    "processed_at",
                    "error",
                    "alarm_link",
                    "duplicate_of_link",
                )
            },
        ),
        (
            _("Request"),
            {
                "fields": (
                    "remote_addr",
                    "content_type",
                    "user_agent",
                    "body_sha256",
                    "body_display",
                )
            },
        ),
        (
            _("Pairing"),
            {
                "fields": ("pairing_explanation",),
                "description": _(
                    "How this body reads now: the normalised notification, the fingerprint "
                    "with the fields that made it, and the alarm it leads to."
                ),
            },
        ),
    )
    readonly_fields = tuple(field for _name, opts in fieldsets for field in opts["fields"])

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return DeliveryChangeList

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        # icontains over millions of rows is a sequential scan; operators paste exact values.
        term = search_term.strip()
        if not term:
            return queryset, False
        if term.isdigit():
            return queryset.filter(pk=int(term)) | queryset.filter(session_id=term), False
        if len(term) == 64:
            return queryset.filter(body_sha256=term.lower()) | queryset.filter(
                session_id=term
            ), False
        return queryset.filter(session_id=term), False

    def get_object(self, request: HttpRequest, object_id: str, from_field: Any = None) -> Any:
        return with_viewing_user(super().get_object(request, object_id, from_field), request)

    def has_reprocess_permission(self, request: HttpRequest) -> bool:
        # Its own permission (Operators have it): deliveries stay read-only for everyone.
        return request.user.has_perm(REPROCESS_DELIVERY)

    @admin.display(description=_("status"))
    def status_display(self, obj: Delivery) -> SafeString:
        status = DeliveryStatus(obj.status)
        return status_badge(status.label, status.colour)

    @admin.display(description=_("error"))
    def error_display(self, obj: Delivery) -> str:
        return Truncator(obj.error).chars(80)

    @admin.display(description=_("alarm"))
    def alarm_link(self, obj: Delivery) -> Any:
        alarm_ids = obj.alarm_ids
        if not alarm_ids:
            return EMPTY_DISPLAY
        return format_html_join(
            ", ",
            '<a href="{}">#{}</a>',
            ((reverse("admin:alarms_alarm_change", args=[pk]), pk) for pk in alarm_ids),
        )

    @admin.display(description=_("duplicate of"))
    def duplicate_of_link(self, obj: Delivery) -> Any:
        if obj.duplicate_of_id is None:
            return EMPTY_DISPLAY
        url = reverse("admin:alarms_delivery_change", args=[obj.duplicate_of_id])
        return format_html('<a href="{}">#{}</a>', url, obj.duplicate_of_id)

    @admin.display(description=_("raw body"))
    def body_display(self, obj: Delivery) -> SafeString:
        return pretty_body(obj.body)

    @admin.display(description=_("explanation"))
    def pairing_explanation(self, obj: Delivery) -> SafeString:
        explanation = explain_delivery(obj)
        link: Any = EMPTY_DISPLAY
        if explanation.alarm is not None:
            url = reverse("admin:alarms_alarm_change", args=[explanation.alarm.pk])
            link = format_html('<a href="{}">#{}</a>', url, explanation.alarm.pk)
        text = json.dumps(explanation.as_dict(), indent=2, ensure_ascii=False)
        return format_html(
            '<p>{} {}</p><pre class="alarmhub-json">{}</pre>', gettext("Alarm:"), link, text
        )

    @admin.action(permissions=["reprocess"], description=_("Reprocess selected deliveries"))
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected = queryset.count()
        reset = requeue_for_reprocessing(queryset)
        message = ngettext(
            "%(count)d delivery queued for reprocessing.",
            "%(count)d deliveries queued for reprocessing.",
            reset,
        ) % {"count": reset}
        skipped = selected - reset
        if skipped:
            message += " " + ngettext(
                "%(count)d duplicate skipped.", "%(count)d duplicates skipped.", skipped
            ) % {"count": skipped}
        self.message_user(request, message, messages.SUCCESS if reset else messages.INFO)


# --- Callback endpoints ----------------------------------------------------------------------


def known_timezone(name: str) -> str:
    """The service's time zone check, with a message for the form field."""
    try:
        return validate_timezone(name)
    except ValidationError as exc:
        raise ValidationError(
            gettext("Unknown time zone (use an IANA name such as Asia/Shanghai).")
        ) from exc


class EndpointAddForm(forms.ModelForm):
    basic_auth_password = forms.CharField(
        label=_("Basic auth password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
    )

    class Meta:
        model = CallbackEndpoint
        fields = ("name", "timezone", "basic_auth_username")
        help_texts = {
            "basic_auth_username": _(
                "Optional. Tencent then calls https://user:password@host/... ."
            ),
        }

    def clean_timezone(self) -> str:
        return known_timezone(self.cleaned_data["timezone"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("basic_auth_username") and not cleaned.get("basic_auth_password"):
            self.add_error("basic_auth_password", gettext("A password is required."))
        return cleaned


class EndpointChangeForm(forms.ModelForm):
    """What may change on an endpoint: time zone, active flag and Basic auth (via the services).

    The admin's ``save_model`` hands these to the services; the form never saves the row.
    """

    basic_auth_password = forms.CharField(
        label=_("New Basic auth password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current password. Clear the username to turn off."),
    )

    class Meta:
        model = CallbackEndpoint
        fields = ("timezone", "is_active", "basic_auth_username")
        help_texts = {
            # Other processes keep their cached copy of the endpoint until it expires.
            "is_active": format_lazy(
                _(
                    "An inactive endpoint answers callbacks with 404; every server notices "
                    "within {seconds} s."
                ),
                seconds=ENDPOINT_CACHE_SECONDS,
            ),
        }

    def clean_timezone(self) -> str:
        return known_timezone(self.cleaned_data["timezone"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        username = cleaned.get("basic_auth_username")
        if username and not cleaned.get("basic_auth_password"):
            previous = CallbackEndpoint.objects.filter(pk=self.instance.pk).values_list(
                "basic_auth_username", flat=True
            )
            if username != previous.first():
                self.add_error("basic_auth_password", gettext("A password is required."))
        return cleaned


@admin.register(CallbackEndpoint)
class CallbackEndpointAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "timezone",
        "is_active",
        "callback_path_hint",
        "uses_basic_auth",
        "created_at",
        "deliveries_link",
    )
    list_filter = ("is_active",)
    search_fields = ("name",)
    actions = ("rotate_token",)
    # token_hash is never shown; the token itself is shown once, in a message.
    change_fields = (
        "name",
        "timezone",
        "is_active",
        "callback_path_hint",
        "created_at",
        "deliveries_link",
    )
    change_readonly_fields = ("name", "callback_path_hint", "created_at", "deliveries_link")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deliveries and alarms keep pointing at it (PROTECT)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):
        kwargs["form"] = EndpointChangeForm if obj is not None else EndpointAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            fields = ["name", "timezone", "basic_auth_username", "basic_auth_password"]
            return [(None, {"fields": fields})]
        editable = ["basic_auth_username", "basic_auth_password"]
        if not self.has_change_permission(request, obj):
            editable = ["basic_auth_username"]
        return [
            (None, {"fields": list(self.change_fields)}),
            (_("HTTP Basic authentication"), {"fields": editable}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.change_readonly_fields if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if not change:
            new = create_callback_endpoint(
                name=data["name"],
                timezone=data["timezone"],
                basic_auth_username=data.get("basic_auth_username", ""),
                basic_auth_password=data.get("basic_auth_password", ""),
            )
            # The admin logs and redirects with ``obj``: make it the created row.
            for field in CallbackEndpoint._meta.concrete_fields:
                setattr(obj, field.attname, getattr(new.endpoint, field.attname))
            obj._state.adding = False
            self._show_url_once(request, new)
            return
        # Only what the user changed, and each through its service (saves with update_fields).
        changes = {
            name: data[name] for name in ("timezone", "is_active") if name in form.changed_data
        }
        if changes:
            update_callback_endpoint(endpoint=obj, **changes)
        username = data.get("basic_auth_username", "")
        password = data.get("basic_auth_password", "")
        if "basic_auth_username" in form.changed_data or password:
            set_endpoint_basic_auth(endpoint=obj, username=username, password=password)

    def _show_url_once(self, request: HttpRequest, new: NewEndpoint) -> None:
        url = request.build_absolute_uri(new.path)
        self.message_user(
            request,
            format_html(
                '{} <code class="alarmhub-url">{}</code> {}',
                gettext("Callback URL for “%(name)s”:") % {"name": new.endpoint.name},
                url,
                gettext("Copy it now: the token is not stored and cannot be shown again."),
            ),
            messages.WARNING,
        )

    @admin.display(description=_("callback URL"))
    def callback_path_hint(self, obj: CallbackEndpoint) -> str:
        return CALLBACK_PATH.format(token=f"{obj.token_hint}…")

    @admin.display(description=_("Basic auth"), boolean=True)
    def uses_basic_auth(self, obj: CallbackEndpoint) -> bool:
        return bool(obj.basic_auth_username)

    @admin.display(description=_("deliveries"))
    def deliveries_link(self, obj: CallbackEndpoint) -> SafeString:
        url = changelist_url(Delivery, endpoint__id__exact=obj.pk)
        return format_html('<a href="{}">{}</a>', url, gettext("Deliveries"))

    @admin.action(permissions=["change"], description=_("Rotate token (the old URL stops working)"))
    def rotate_token(self, request: HttpRequest, queryset: QuerySet[CallbackEndpoint]) -> None:
        for endpoint in queryset:
            self._show_url_once(request, rotate_endpoint_token(endpoint=endpoint))
            self.log_change(request, endpoint, gettext("Rotated the callback token."))


# --- Read-only browsing: policies, instances, timeline, notes --------------------------------


@admin.register(Policy)
class PolicyAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "name",
        "policy_id",
        "policy_type",
        "type_ename",
        "endpoint",
        "last_seen_at",
        "alarms_link",
    )
    list_filter = ("endpoint",)
    list_select_related = ("endpoint",)
    search_fields = ("name", "policy_id")
    raw_id_fields = ("endpoint",)
    readonly_fields = (
        "name",
        "policy_id",
        "policy_type",
        "type_cname",
        "type_ename",
        "endpoint",
        "first_seen_at",
        "last_seen_at",
        "alarms_link",
    )
    fields = readonly_fields

    @admin.display(description=_("alarms"))
    def alarms_link(self, obj: Policy) -> SafeString:
        url = changelist_url(Alarm, policy__id__exact=obj.pk)
        return format_html('<a href="{}">{}</a>', url, gettext("Alarms"))


@admin.register(Instance)
class InstanceAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "instance_id",
        "name",
        "namespace",
        "region",
        "endpoint",
        "last_seen_at",
        "alarms_link",
    )
    list_filter = ("endpoint",)
    list_select_related = ("endpoint",)
    search_fields = ("instance_id", "name")
    raw_id_fields = ("endpoint",)
    readonly_fields = (
        "instance_id",
        "name",
        "namespace",
        "region",
        "endpoint",
        "dimensions_display",
        "first_seen_at",
        "last_seen_at",
        "alarms_link",
    )
    fields = readonly_fields

    @admin.display(description=_("dimensions"))
    def dimensions_display(self, obj: Instance) -> SafeString:
        return pretty_json(obj.dimensions)

    @admin.display(description=_("alarms"))
    def alarms_link(self, obj: Instance) -> SafeString:
        url = changelist_url(Alarm, instance__id__exact=obj.pk)
        return format_html('<a href="{}">{}</a>', url, gettext("Alarms"))


@admin.register(AlarmEvent)
class AlarmEventAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("occurred_at", "alarm_link", "type", "actor_display", "details_display")
    list_filter = ("type",)
    list_select_related = ("alarm", "actor")
    search_fields = ("alarm__metric_name", "alarm__event_name", "actor__username")
    ordering = ("-occurred_at", "-id")
    sortable_by = ("occurred_at",)
    raw_id_fields = ("alarm", "actor", "delivery")
    readonly_fields = (
        "alarm_link",
        "type",
        "occurred_at",
        "actor_display",
        "delivery_link",
        "details_display",
    )
    fields = readonly_fields

    @admin.display(description=_("alarm"))
    def alarm_link(self, obj: AlarmEvent) -> SafeString:
        url = reverse("admin:alarms_alarm_change", args=[obj.alarm_id])
        return format_html('<a href="{}">{}</a>', url, obj.alarm)

    @admin.display(description=_("actor"))
    def actor_display(self, obj: AlarmEvent) -> str:
        return obj.actor.get_username() if obj.actor else gettext("system")

    @admin.display(description=_("delivery"))
    def delivery_link(self, obj: AlarmEvent) -> Any:
        if obj.delivery_id is None:
            return EMPTY_DISPLAY
        url = reverse("admin:alarms_delivery_change", args=[obj.delivery_id])
        return format_html('<a href="{}">#{}</a>', url, obj.delivery_id)

    @admin.display(description=_("details"))
    def details_display(self, obj: AlarmEvent) -> SafeString:
        items = sorted((obj.details or {}).items()) if isinstance(obj.details, dict) else []
        return format_html_join(", ", "{}: {}", items)


@admin.register(Note)
class NoteAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("created_at", "alarm_link", "author", "text_display")
    list_select_related = ("alarm", "author")
    search_fields = ("text", "author__username")
    ordering = ("-created_at", "-id")
    sortable_by = ("created_at",)
    raw_id_fields = ("alarm", "author")
    readonly_fields = ("alarm_link", "author", "created_at", "text")
    fields = readonly_fields

    @admin.display(description=_("alarm"))
    def alarm_link(self, obj: Note) -> SafeString:
        url = reverse("admin:alarms_alarm_change", args=[obj.alarm_id])
        return format_html('<a href="{}">{}</a>', url, obj.alarm)

    @admin.display(description=_("text"))
    def text_display(self, obj: Note) -> str:
        return Truncator(obj.text).chars(100)
