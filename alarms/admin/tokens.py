"""API tokens in the admin (issue 14, 13): listed by prefix, never by key; revoked, not deleted.

A new token's key is shown once, in a message (session storage, not a cookie). Every create and
revoke goes through ``alarms.services.tokens``, which writes the audit entry. DRF's own token
admin, which showed every key in full, is taken down here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from rest_framework.authtoken import admin as drf_token_admin  # noqa: F401 (see the end)
from rest_framework.authtoken.models import TokenProxy

from alarmhub.security import client_ip

from ..models import ApiToken
from ..services.tokens import NewApiToken, create_token, default_lifetime, revoke_token


class StateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("active", _("Active")), ("expired", _("Expired")), ("revoked", _("Revoked"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> QuerySet[ApiToken]:
        now = timezone.now()
        if self.value() == "active":
            live = Q(expires_at__isnull=True) | Q(expires_at__gt=now)
            return queryset.filter(live, revoked_at__isnull=True)
        if self.value() == "expired":
            return queryset.filter(expires_at__lte=now, revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ("user", "name", "expires_at")
        help_texts = {
            "expires_at": _(
                "Leave empty for the default lifetime (ALARMHUB_API_TOKEN_DAYS; unset: never)."
            ),
        }

    def clean_expires_at(self) -> Any:
        value = self.cleaned_data.get("expires_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("The expiry must be in the future."))
        return value


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = (
        "prefix_display",
        "user",
        "name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (StateFilter,)
    list_select_related = ("user",)
    search_fields = ("user__username", "name", "prefix")
    search_help_text = _("Username, token name or the key's first characters.")
    ordering = ("-created_at", "-id")
    actions = ("revoke",)
    readonly_fields = (
        "prefix_display",
        "user",
        "name",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # revoke instead: the row keeps naming the token in the audit log

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> type[forms.ModelForm]:
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ApiTokenAddForm.Meta.fields if obj is None else self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial: dict[str, Any] = dict(super().get_changeform_initial_data(request))
        lifetime = default_lifetime()
        if lifetime is not None:
            initial.setdefault("expires_at", timezone.now() + lifetime)
        return initial

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "user" and field is not None and not request.user.is_superuser:
            # A token acts as its user: only a superuser may make one for someone else.
            field.queryset = field.queryset.filter(pk=request.user.pk)  # type: ignore[union-attr]
        return field

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            return  # nothing is editable; never save the whole row over last_used_at
        data = form.cleaned_data
        new = create_token(
            user=data["user"],
            name=data.get("name", ""),
            expires_at=data.get("expires_at"),
            actor=request.user,
            remote_addr=client_ip(request),
        )
        # The admin logs and redirects with ``obj``: make it the created row.
        for field in ApiToken._meta.concrete_fields:
            setattr(obj, field.attname, getattr(new.token, field.attname))
        obj._state.adding = False
        self._show_key_once(request, new)

    def _show_key_once(self, request: HttpRequest, new: NewApiToken) -> None:
        self.message_user(
            request,
            format_html(
                '{} <code class="alarmhub-token">{}</code> {}',
                gettext("API token for “%(user)s”:") % {"user": new.token.user},
                new.key,
                gettext("Copy it now: the key is not stored and cannot be shown again."),
            ),
            messages.WARNING,
        )

    @admin.display(description=_("prefix"), ordering="prefix")
    def prefix_display(self, obj: ApiToken) -> str:
        return f"{obj.prefix}…"

    @admin.action(permissions=["change"], description=_("Revoke (the token stops working)"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = 0
        for token in queryset.filter(revoked_at__isnull=True).select_related("user"):
            if revoke_token(token=token, actor=request.user, remote_addr=client_ip(request)):
                revoked += 1
                self.log_change(request, token, gettext("Revoked the API token."))
        self.message_user(
            request,
            ngettext("Revoked %(count)d token.", "Revoked %(count)d tokens.", revoked)
            % {"count": revoked},
            messages.SUCCESS,
        )


# DRF's token admin lists every key in full, and its tokens no longer authenticate. Importing it
# registers it now (it comes after us in INSTALLED_APPS), so it can be taken down for good.
if admin.site.is_registered(TokenProxy):
    admin.site.unregister(TokenProxy)
