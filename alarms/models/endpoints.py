"""Callback endpoints: the URLs that alarm sources post to."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class CallbackEndpoint(models.Model):
    """A callback URL that one Tencent account (or team) posts to.

    Only a SHA-256 of the token is stored: the token itself is shown once, at creation.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    token_hash = models.CharField(_("token hash"), max_length=64, unique=True, editable=False)
    token_hint = models.CharField(
        _("token hint"), max_length=8, editable=False, help_text=_("First characters of the token.")
    )
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="Asia/Shanghai",
        help_text=_("Tencent sends local times without an offset; they are read in this zone."),
    )
    source = models.CharField(
        _("source"),
        max_length=32,
        default="tencent",
        help_text=_("Which alarm source posts here; it decides how bodies are parsed."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    basic_auth_username = models.CharField(_("Basic auth username"), max_length=150, blank=True)
    basic_auth_password_hash = models.CharField(
        _("Basic auth password hash"), max_length=256, blank=True, editable=False
    )
    # Alertmanager's http_config `authorization` (Bearer); only a hash is kept, like the token.
    bearer_token_hash = models.CharField(
        _("bearer token hash"), max_length=64, blank=True, editable=False
    )
    # Storage quota: callbacks past this many per minute get 429 (retCode 1) so Tencent retries.
    max_deliveries_per_minute = models.PositiveIntegerField(
        _("max callbacks per minute"), null=True, blank=True
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("callback endpoint")
        verbose_name_plural = _("callback endpoints")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
