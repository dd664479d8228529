"""Silences in the admin: created, changed and deleted only through ``alarms.services.silences``.

Operators (the model permissions) and holders of ``manage_channel`` write; every role reads.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ..models import Silence
from ..notify.matching import validate_filter
from ..permissions import MANAGE_CHANNEL
from ..services.silences import (
    create_silence,
    delete_silence,
    in_force,
    update_silence,
    validate_recurrence,
)

WRITE_FIELDS = ("comment", "filter", "starts_at", "ends_at", "recurrence")


class SilenceForm(forms.ModelForm):
    """Checks input with the services' own validators; ``SilenceAdmin.save_model`` saves."""

    class Meta:
        model = Silence
        fields = WRITE_FIELDS
        help_texts = {
            "filter": _(
                'Alarm list filters, e.g. {"namespace": ["qce/cvm"], "region": ["ap-guangzhou"]}. '
                "Empty: every alarm."
            ),
            "recurrence": _(
                'Empty for the whole window, or e.g. {"weekdays": [0, 1, 2, 3, 4], '
                '"start_time": "22:00", "end_time": "06:00", "timezone": "Asia/Shanghai"} '
                "(Monday is 0; a window past midnight counts for the day it starts)."
            ),
        }

    def clean_filter(self) -> dict[str, list[str]]:
        try:
            return validate_filter(self.cleaned_data.get("filter") or {})
        except ValidationError as exc:
            raise ValidationError(
                [f"{name}: {m}" for name, ms in exc.message_dict.items() for m in ms]
            ) from exc

    def clean_recurrence(self) -> dict[str, Any] | None:
        try:
            return validate_recurrence(self.cleaned_data.get("recurrence"))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["recurrence"]) from exc

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm's returns self.cleaned_data (the stubs allow None)
        cleaned = self.cleaned_data
        starts_at, ends_at = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts_at and ends_at and ends_at < starts_at:
            self.add_error("ends_at", _("A silence cannot end before it starts."))
        return cleaned


def _manages_channels(request: HttpRequest) -> bool:
    return request.user.has_perm(MANAGE_CHANNEL)


@admin.register(Silence)
class SilenceAdmin(admin.ModelAdmin):
    form = SilenceForm
    list_display = (
        "__str__",
        "starts_at",
        "ends_at",
        "recurring",
        "active_now",
        "filter_display",
        "created_by",
    )
    list_select_related = ("created_by",)
    list_filter = ("starts_at", "ends_at")
    search_fields = ("comment",)
    date_hierarchy = "starts_at"
    readonly_fields = ("created_by", "created_at", "updated_at")
    fields = (*WRITE_FIELDS, "created_by", "created_at", "updated_at")

    # manage_channel covers silences too ("Can manage outbound channels and silences").
    def has_module_permission(self, request: HttpRequest) -> bool:
        return super().has_module_permission(request) or _manages_channels(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_view_permission(request, obj) or _manages_channels(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) or _manages_channels(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_change_permission(request, obj) or _manages_channels(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return super().has_delete_permission(request, obj) or _manages_channels(request)

    @admin.display(description=_("recurring"), boolean=True)
    def recurring(self, obj: Silence) -> bool:
        return bool(obj.recurrence)

    @admin.display(description=_("in force now"), boolean=True)
    def active_now(self, obj: Silence) -> bool:
        return in_force(obj, timezone.now())

    @admin.display(description=_("filter"))
    def filter_display(self, obj: Silence) -> str:
        # Rendered as text (escaped by the admin): a filter value is user input.
        return json.dumps(obj.filter, ensure_ascii=False) if obj.filter else "—"

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        values: dict[str, Any] = {name: form.cleaned_data.get(name) for name in WRITE_FIELDS}
        values["comment"] = values["comment"] or ""
        if change:
            saved = update_silence(silence=obj, actor=request.user, **values)
        else:
            saved = create_silence(actor=request.user, **values)
        # The admin logs and redirects with ``obj``: make it the saved row.
        for field in Silence._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        delete_silence(silence=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Silence]) -> None:
        for silence in queryset:
            delete_silence(silence=silence, actor=request.user)
