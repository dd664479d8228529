"""Callback endpoints: created, changed and rotated only through ``alarms.services.endpoints``.

The token is never stored; the admin shows the callback URL once, in a message.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from alarmhub.security import client_ip

from ..models import CallbackEndpoint, Delivery
from ..selectors.endpoints import ENDPOINT_CACHE_SECONDS
from ..services.endpoints import (
    CALLBACK_PATH,
    NewEndpoint,
    create_callback_endpoint,
    rotate_endpoint_token,
    set_endpoint_basic_auth,
    set_endpoint_quota,
    update_callback_endpoint,
    validate_timezone,
)
from .display import changelist_url


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
        super().clean()  # ModelForm's returns self.cleaned_data (the stubs allow None)
        cleaned = self.cleaned_data
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
        fields = ("timezone", "is_active", "max_deliveries_per_minute", "basic_auth_username")
        help_texts = {
            "max_deliveries_per_minute": _(
                "Storage quota: past this many callbacks in a minute the endpoint answers 429 "
                "(retCode 1, so Tencent retries) and stores nothing. Empty: the server default "
                "(ALARMHUB_MAX_DELIVERIES_PER_MINUTE; unset there too: unlimited)."
            ),
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
        super().clean()  # ModelForm's returns self.cleaned_data (the stubs allow None)
        cleaned = self.cleaned_data
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
        "max_deliveries_per_minute",
        "callback_path_hint",
        "created_at",
        "deliveries_link",
    )
    change_readonly_fields = ("name", "callback_path_hint", "created_at", "deliveries_link")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deliveries and alarms keep pointing at it (PROTECT)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        kwargs["form"] = EndpointChangeForm if obj is not None else EndpointAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            fields = ["name", "timezone", "basic_auth_username", "basic_auth_password"]
            return [(None, {"fields": fields})]
        editable = ["basic_auth_username", "basic_auth_password"]
        if not self.has_change_permission(request, obj):
            # The username is half of the credential: Viewers see only whether one is set.
            editable = ["uses_basic_auth"]
        return [
            (None, {"fields": list(self.change_fields)}),
            (_("HTTP Basic authentication"), {"fields": editable}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not self.has_change_permission(request, obj):
            return (*self.change_readonly_fields, "uses_basic_auth")
        return self.change_readonly_fields if obj is not None else ()

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        actor, remote_addr = request.user, client_ip(request)  # for the audit log
        if not change:
            new = create_callback_endpoint(
                name=data["name"],
                timezone=data["timezone"],
                basic_auth_username=data.get("basic_auth_username", ""),
                basic_auth_password=data.get("basic_auth_password", ""),
                actor=actor,
                remote_addr=remote_addr,
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
            update_callback_endpoint(endpoint=obj, **changes, actor=actor, remote_addr=remote_addr)
        if "max_deliveries_per_minute" in form.changed_data:
            set_endpoint_quota(
                endpoint=obj,
                per_minute=data["max_deliveries_per_minute"],
                actor=actor,
                remote_addr=remote_addr,
            )
        username = data.get("basic_auth_username", "")
        password = data.get("basic_auth_password", "")
        if "basic_auth_username" in form.changed_data or password:
            set_endpoint_basic_auth(
                endpoint=obj,
                username=username,
                password=password,
                actor=actor,
                remote_addr=remote_addr,
            )

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
            new = rotate_endpoint_token(
                endpoint=endpoint, actor=request.user, remote_addr=client_ip(request)
            )
            self._show_url_once(request, new)
            self.log_change(request, endpoint, gettext("Rotated the callback token."))
