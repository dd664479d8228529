"""Acknowledgement expiry rules in the admin (issue 12, item 8): saved through
``alarms.services.ack_expiry.save_rule``. Like channels in the admin (where every user is
staff): the ``manage_channel`` permission, never staff status alone."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Model
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from ..models import AckExpiryRule
from ..permissions import MANAGE_CHANNEL
from ..services.ack_expiry import clean_rule_values, save_rule


class AckExpiryRuleForm(forms.ModelForm):
    class Meta:
        model = AckExpiryRule
        fields = ("filter", "expire_after_seconds", "expire_on_refire", "is_active")
        help_texts = {
            "filter": _(
                'Alarm list filters, e.g. {"namespace": ["qce/cvm"], "level": ["Serious"]}. '
                "Empty: every alarm."
            ),
            "expire_after_seconds": _(
                "A firing alarm acknowledged this long ago is unacknowledged again (e.g. 14400 "
                "for 4 h): its next repeat notifies again and escalation may follow. Empty: no "
                "time limit."
            ),
            "expire_on_refire": _(
                "An alarm that fires again after a recovery is a new alarm, which starts "
                "unacknowledged: this always holds in AlarmHub."
            ),
        }

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        try:
            cleaned["filter"] = clean_rule_values(
                filter=cleaned.get("filter"),
                expire_after_seconds=cleaned.get("expire_after_seconds"),
                expire_on_refire=bool(cleaned.get("expire_on_refire")),
            )
        except ValidationError as exc:
            self.add_error(None, exc)
        return cleaned


def _may_manage(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.has_perm(MANAGE_CHANNEL))


@admin.register(AckExpiryRule)
class AckExpiryRuleAdmin(admin.ModelAdmin):
    form = AckExpiryRuleForm
    list_display = (
        "__str__",
        "filter_display",
        "expire_after_seconds",
        "expire_on_refire",
        "is_active",
        "created_by",
    )
    list_filter = ("is_active",)
    list_select_related = ("created_by",)
    readonly_fields = ("created_by", "created_at")

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _may_manage(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _may_manage(request)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _may_manage(request)

    @admin.display(description=_("filter"))
    def filter_display(self, obj: AckExpiryRule) -> str:
        # Rendered as text (escaped by the admin): a filter value is user input.
        return json.dumps(obj.filter, ensure_ascii=False) if obj.filter else "—"

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        save_rule(rule=obj, actor=request.user)
