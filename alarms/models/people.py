"""What AlarmHub remembers about its users: preferences, saved board views, the audit log and
API tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class UserPreference(models.Model):
    """Per-user settings; the time zone wins over the browser's cookie (DESIGN §6 Console)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alarmhub_preference",
        verbose_name=_("user"),
    )
    timezone = models.CharField(_("time zone"), max_length=64, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user_id}: {self.timezone or '-'}"


class SavedView(models.Model):
    """A named board filter (its query string), personal or shared with everyone."""

    name = models.CharField(_("name"), max_length=100)
    # No index of its own: savedview_unique_name starts with owner.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alarmhub_saved_views",
        verbose_name=_("owner"),
        db_index=False,
    )
    query = models.CharField(_("query"), max_length=2000, blank=True)
    shared = models.BooleanField(_("shared"), default=False)
    # The landing view of the board for everyone without a filter of their own.
    is_default = models.BooleanField(_("default landing view"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="savedview_unique_name"),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="savedview_one_default",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(shared=True), name="savedview_default_is_shared"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class AuditEntry(models.Model):
    """Who did what, when and from where; written by the services, never edited."""

    at = models.DateTimeField(_("time"), auto_now_add=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("actor"),
    )
    # The username at the time: kept when the user is renamed or deleted.
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=64)
    target_type = models.CharField(_("target type"), max_length=64, blank=True)
    target_id = models.CharField(_("target id"), max_length=64, blank=True)
    target_repr = models.CharField(_("target"), max_length=300, blank=True)
    remote_addr = models.GenericIPAddressField(_("remote address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="audit_recent_idx"),
            models.Index(fields=["action", "-at"], name="audit_action_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name or '-'} {self.action}"


class ApiToken(models.Model):
    """An API token (``Authorization: Token <key>``), stored as a hash so a leaked row or backup
    cannot be used; the key itself is shown once, when the token is made.

    Revoked tokens are kept (revoked_at set) so the admin and the audit log can still name them.
    """

    # sha256 of the key, hex: the key is 160 random bits, so no salt or slow hash is needed.
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    # The key's first characters, to tell tokens apart in lists; never enough to use one.
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="alarmhub_api_tokens",
        verbose_name=_("user"),
    )
    name = models.CharField(_("name"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        label = self.name or self.prefix
        return f"{label} ({self.user})" if self.user_id else label
