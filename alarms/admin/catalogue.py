"""Read-only browsing of the catalogue and history: policies, instances, timeline, notes."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ..display import actor_label
from ..models import Alarm, AlarmEvent, Instance, Note, Policy
from .display import EMPTY_DISPLAY, changelist_url, pretty_json
from .scale import ReadOnlyAdminMixin, ScalableAdminMixin


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
        return actor_label(obj.actor)

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
