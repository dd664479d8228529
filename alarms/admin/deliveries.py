"""Deliveries: every callback as received, browsed read-only and re-queued for processing."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import Truncator
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from alarmhub.security import client_ip

from ..choices import DeliveryStatus
from ..models import Delivery
from ..permissions import REPROCESS_DELIVERY
from ..pipeline.explain import explain_delivery
from ..selectors.deliveries import with_alarm_ids
from ..services.audit import AuditAction, listed_ids, record
from ..tasks import requeue_for_reprocessing
from .display import EMPTY_DISPLAY, pretty_body, printable, status_badge, with_viewing_user
from .scale import ReadOnlyAdminMixin, ScalableAdminMixin


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
    readonly_fields = tuple(flatten_fieldsets(fieldsets))

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
            '<p>{} {}</p><pre class="alarmhub-json">{}</pre>',
            gettext("Alarm:"),
            link,
            printable(text),
        )

    @admin.action(permissions=["reprocess"], description=_("Reprocess selected deliveries"))
    def reprocess_selected(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        selected_ids = list(queryset.values_list("pk", flat=True))
        selected = len(selected_ids)
        reset = requeue_for_reprocessing(queryset)
        record(
            action=AuditAction.DELIVERIES_REPROCESSED,
            actor=request.user,
            remote_addr=client_ip(request),
            via="admin",
            selected=selected,
            queued=reset,
            delivery_ids=listed_ids(selected_ids),
        )
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
