"""The audit log in the admin: browsed by whoever holds ``view_auditentry``, never edited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from ..models import AuditEntry
from ..services.audit import AuditAction
from .display import EMPTY_DISPLAY, pretty_json
from .scale import ReadOnlyAdminMixin, ScalableAdminMixin

VIEW_AUDIT_ENTRY = "alarms.view_auditentry"


class ActionFilter(admin.SimpleListFilter):
    """Every known action with its label (not a DISTINCT over the whole table)."""

    title = _("action")
    parameter_name = "action"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(AuditAction.choices)

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        # Served by audit_action_idx (action, -at).
        return queryset.filter(action=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("at", "actor_name", "action_display", "target_repr", "remote_addr")
    list_filter = (ActionFilter,)
    search_fields = ("actor_name", "target_repr")
    search_help_text = _("Who acted (username at the time) or what was acted on.")
    ordering = ("-at", "-id")
    sortable_by = ("at",)
    fields = (
        "at",
        "actor_name",
        "action_display",
        "target_type",
        "target_id",
        "target_repr",
        "remote_addr",
        "details_display",
    )
    readonly_fields = fields

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        # Exactly this permission: the default would also accept change_auditentry.
        return request.user.has_perm(VIEW_AUDIT_ENTRY)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self.has_view_permission(request)

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        return {}  # not even "delete selected"

    @admin.display(description=_("action"), ordering="action")
    def action_display(self, obj: AuditEntry) -> str:
        try:
            return str(AuditAction(obj.action).label)
        except ValueError:  # an action recorded by a newer or older version
            return obj.action

    @admin.display(description=_("details"))
    def details_display(self, obj: AuditEntry) -> SafeString | str:
        return pretty_json(obj.details) if obj.details else EMPTY_DISPLAY
