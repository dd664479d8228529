"""Outbound channels and their outbox in the admin (DESIGN §6 "Channels").

Channels are created and changed through ``alarms.services.channels``; the secret is a
write-only password field (never rendered back, not even masked). The outbox and its attempts
are history: read-only. Only holders of ``manage_channel`` (superusers have it) see them: the
API's "staff or manage_channel" is not the admin's rule, since staff with no role must see nothing
here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from ..choices import CHANNEL_EVENTS, OutboundStatus
from ..models import Channel, OutboundAttempt, OutboundMessage
from ..permissions import MANAGE_CHANNEL
from ..services.channels import clean_channel, create_channel, send_test_message, update_channel
from .display import status_badge
from .scale import ReadOnlyAdminMixin, ScalableAdminMixin


def _may_manage(request: HttpRequest) -> bool:
    """The admin's rule for channels and the outbox: the permission, never staff status alone."""
    return bool(request.user.is_active and request.user.has_perm(MANAGE_CHANNEL))


_STATUS_COLOURS = {
    "pending": "#6c757d",
    "sending": "#0d6efd",
    "sent": "#198754",
    "failed": "#dc3545",
    "silenced": "#6f42c1",
    "merged": "#6c757d",
}


class ChannelForm(forms.ModelForm):
    """The channel's fields, validated by the service; the secret is write-only."""

    secret = forms.CharField(
        label=_("Secret"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_(
            "Signing secret (webhook, DingTalk, Feishu). Leave empty to keep the current one."
        ),
    )
    clear_secret = forms.BooleanField(
        label=_("Remove the secret"), required=False, help_text=_("Send unsigned from now on.")
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=[(event, event) for event in CHANNEL_EVENTS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    language = forms.ChoiceField(
        label=_("Language"), choices=[("zh-hans", "简体中文"), ("en", "English")]
    )
    filter = forms.JSONField(
        label=_("Filter"),
        required=False,
        initial=dict,
        help_text=_(
            'Alarm list filters, e.g. {"namespace": ["qce/cvm"], "level": ["Serious"]}. '
            "Empty: every alarm."
        ),
    )

    class Meta:
        model = Channel
        fields = (
            "name",
            "kind",
            "url",
            "secret",
            "events",
            "filter",
            "language",
            "escalate_after_seconds",
            "is_active",
        )

    def clean(self) -> dict[str, Any]:
        super().clean()  # ModelForm's returns self.cleaned_data (the stubs allow None)
        cleaned = self.cleaned_data
        if self.errors:
            return cleaned
        values = {name: cleaned.get(name) for name in self.Meta.fields}
        values["filter"] = values.get("filter") or {}
        values["events"] = list(values.get("events") or [])
        if not values.get("secret"):
            values["secret"] = "" if cleaned.get("clear_secret") else self.instance.secret
        if self.instance.pk is not None:
            values["id"] = self.instance.pk
        try:
            clean_channel(values)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, errors)
        return cleaned


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelForm
    list_display = ("name", "kind", "is_active", "events_display", "signed", "last_error_short")
    list_filter = ("kind", "is_active")
    search_fields = ("name",)
    actions = ("send_test",)
    readonly_fields = ("last_error", "last_error_at", "created_by", "created_at", "updated_at")
    fieldsets = (
        (None, {"fields": ("name", "kind", "url", "is_active", "language")}),
        (_("Signing"), {"fields": ("secret", "clear_secret")}),
        (_("What to send"), {"fields": ("events", "filter", "escalate_after_seconds")}),
        (
            _("Health"),
            {"fields": ("last_error", "last_error_at", "created_by", "created_at", "updated_at")},
        ),
    )

    # manage_channel decides, not the model permissions (nor, unlike the API, staff status).
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

    def has_manage_channel_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request)

    @admin.display(description=_("events"))
    def events_display(self, obj: Channel) -> str:
        return ", ".join(obj.events or []) or "—"

    @admin.display(description=_("signed"), boolean=True)
    def signed(self, obj: Channel) -> bool:
        return bool(obj.secret)

    @admin.display(description=_("last error"))
    def last_error_short(self, obj: Channel) -> str:
        return (obj.last_error[:80] + "…") if len(obj.last_error) > 80 else obj.last_error

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        values = {
            name: data.get(name)
            for name in (
                "name",
                "kind",
                "url",
                "events",
                "filter",
                "language",
                "escalate_after_seconds",
                "is_active",
            )
        }
        values["filter"] = values["filter"] or {}
        values["events"] = list(values["events"] or [])
        secret = data.get("secret") or ""
        if change:
            if secret:
                values["secret"] = secret
            elif data.get("clear_secret"):
                values["secret"] = ""
            saved = update_channel(channel=obj, actor=request.user, **values)
        else:
            saved = create_channel(actor=request.user, secret=secret, **values)
        # The admin logs and redirects with ``obj``: make it the saved row.
        for field in Channel._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    @admin.action(description=_("Send a test message"), permissions=["manage_channel"])
    def send_test(self, request: HttpRequest, queryset: QuerySet[Channel]) -> None:
        results: dict[str, int] = {}
        for channel in queryset:
            message = send_test_message(channel=channel, actor=request.user)
            message.refresh_from_db(fields=["status"])
            results[message.status] = results.get(message.status, 0) + 1
        sent = results.pop(OutboundStatus.SENT, 0)
        if sent:
            self.message_user(
                request,
                ngettext("%(count)d test message sent.", "%(count)d test messages sent.", sent)
                % {"count": sent},
                messages.SUCCESS,
            )
        if results.get(OutboundStatus.FAILED):
            self.message_user(
                request,
                gettext("%(count)d test message(s) failed: see the channel's last error.")
                % {"count": results[OutboundStatus.FAILED]},
                messages.ERROR,
            )
        queued = sum(n for status, n in results.items() if status != OutboundStatus.FAILED)
        if queued:
            self.message_user(
                request,
                gettext("%(count)d test message(s) queued: see Outbound messages.")
                % {"count": queued},
                messages.INFO,
            )


class OutboundAttemptInline(admin.TabularInline):
    model = OutboundAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "duration_ms", "status_code", "outcome", "error")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _may_manage(request)


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ScalableAdminMixin, ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "id",
        "channel",
        "event",
        "status_display",
        "alarm_link",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "event", "channel__kind", "is_digest", "is_test")
    list_select_related = ("channel", "alarm")
    search_fields = ("=id", "=alarm__id", "channel__name")
    inlines = (OutboundAttemptInline,)
    fields = (
        "channel",
        "alarm_link",
        "event",
        "status_display",
        "attempts",
        "next_attempt_at",
        "is_digest",
        "digest",
        "merged_count",
        "is_test",
        "silence",
        "last_error",
        "created_at",
        "status_changed_at",
        "sent_at",
    )
    readonly_fields = fields

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _may_manage(request)

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return _may_manage(request)

    @admin.display(description=_("status"), ordering="status")
    def status_display(self, obj: OutboundMessage) -> SafeString:
        return status_badge(obj.get_status_display(), _STATUS_COLOURS.get(obj.status, "#6c757d"))

    @admin.display(description=_("alarm"))
    def alarm_link(self, obj: OutboundMessage) -> Any:
        if obj.alarm_id is None:
            return "—"
        # The console's alarm page: every role may open it (the alarm admin needs a role).
        url = reverse("alarms:alarm", args=[obj.alarm_id])
        return format_html('<a href="{}">#{}</a>', url, obj.alarm_id)

    @admin.display(description=_("alarms merged"))
    def merged_count(self, obj: OutboundMessage) -> Any:
        if not obj.is_digest:
            return "—"
        return format_html("{}", obj.merged.count())
