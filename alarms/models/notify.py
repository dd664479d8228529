"""Outbound notifications (DESIGN §6 "Channels", "Silences"): where messages go, what mutes them,
and the outbox that makes sending as durable as receiving."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from ..choices import ChannelKind, OutboundStatus
from .alarms import Alarm, AlarmEvent


class Channel(models.Model):
    """A destination for lifecycle messages: a webhook, a WeCom/DingTalk/Feishu robot, email.

    ``filter`` uses the alarm-list vocabulary (parameter name → list of values); ``events`` the
    lifecycle events it wants. The secret is needed in clear to sign each request (HMAC), so it
    is stored as given and never rendered in any response, page or log.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=ChannelKind.choices)
    url = models.CharField(
        _("URL"), max_length=2000, help_text=_("Robot or webhook URL; for email, the addresses.")
    )
    secret = models.CharField(_("secret"), max_length=500, blank=True)
    filter = models.JSONField(_("filter"), default=dict, blank=True)
    events = models.JSONField(_("events"), default=list, blank=True)
    language = models.CharField(_("language"), max_length=10, default="zh-hans")
    # A channel that wants "escalated" gets a message when a matching alarm stays firing and
    # unacknowledged this long.
    escalate_after_seconds = models.PositiveIntegerField(
        _("escalate after (s)"), null=True, blank=True
    )
    is_active = models.BooleanField(_("active"), default=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)
    # Token-bucket state of the vendor's rate limit (alarms.notify.ratelimit), saved per send.
    rate_state = models.JSONField(default=dict, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name"]
        permissions = [("manage_channel", _("Can manage outbound channels and silences"))]

    def __str__(self) -> str:
        return self.name


class OutboundMessage(models.Model):
    """One message for one channel: written in the same transaction as the alarm event that
    causes it, sent by a worker after commit, retried with backoff (the outbox pattern)."""

    # No index of its own: outbound_channel_idx starts with channel.
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        related_name="messages",
        verbose_name=_("channel"),
        db_index=False,
    )
    alarm = models.ForeignKey(
        Alarm,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="outbound_messages",
        verbose_name=_("alarm"),
    )
    alarm_event = models.ForeignKey(
        AlarmEvent,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("alarm event"),
    )
    event = models.CharField(_("event"), max_length=20)
    status = models.CharField(
        _("status"), max_length=16, choices=OutboundStatus.choices, default=OutboundStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    # A digest merges the overflow of a rate limit: the messages it stands for point at it.
    digest = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="merged",
        verbose_name=_("merged into"),
    )
    is_digest = models.BooleanField(_("digest"), default=False)
    silence = models.ForeignKey(
        "Silence",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("muted by"),
    )
    is_test = models.BooleanField(_("test message"), default=False)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    status_changed_at = models.DateTimeField(_("status changed"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbound message")
        verbose_name_plural = _("outbound messages")
        constraints = [
            # One message per channel and alarm event: a rerun of the delivery adds none.
            models.UniqueConstraint(
                fields=["channel", "alarm_event"],
                name="outbound_once_per_event",
                condition=Q(alarm_event__isnull=False),
            )
        ]
        indexes = [
            # The sender's and the sweep's work list: due pending messages, oldest first.
            models.Index(
                fields=["next_attempt_at"],
                name="outbound_due_idx",
                condition=Q(status__in=["pending", "sending"]),
            ),
            # A channel's history, newest first (admin, metrics).
            models.Index(fields=["channel", "-created_at"], name="outbound_channel_idx"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.event} → {self.channel_id} ({self.status})"


class OutboundAttempt(models.Model):
    """One try at sending a message: what the far end answered and how long it took."""

    message = models.ForeignKey(
        OutboundMessage, on_delete=models.CASCADE, related_name="tries", verbose_name=_("message")
    )
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    status_code = models.PositiveIntegerField(_("HTTP status"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=16)  # ok | transient | permanent
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("outbound attempt")
        verbose_name_plural = _("outbound attempts")
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.outcome} {self.status_code or '-'} @ {self.started_at:%H:%M:%S}"


class Silence(models.Model):
    """Mutes outbound messages for matching alarms while in force; never changes what is recorded.

    ``recurrence`` (optional) narrows the window to weekdays and a daily time range in a zone:
    ``{"weekdays": [0..6], "start_time": "HH:MM", "end_time": "HH:MM", "timezone": "IANA"}``.
    """

    comment = models.TextField(_("comment"), blank=True)
    filter = models.JSONField(_("filter"), default=dict, blank=True)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    recurrence = models.JSONField(_("recurrence"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("silence")
        verbose_name_plural = _("silences")
        ordering = ["-starts_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gte=models.F("starts_at")), name="silence_ends_after_start"
            )
        ]
        # "Which silences could be in force now": ends in the future.
        indexes = [models.Index(fields=["ends_at"], name="silence_ends_idx")]

    def __str__(self) -> str:
        return self.comment[:50] or f"silence #{self.pk}"


class AckExpiryRule(models.Model):
    """An acknowledgement of a matching firing alarm expires ``expire_after_seconds`` after it
    was given (issue 12 item 8; Alertmanager #1860): the alarm is unacknowledged by AlarmHub
    itself, so it notifies and escalates again. ``filter`` uses the alarm-list vocabulary.

    ``expire_on_refire``: an alarm that fires again after a recovery is a new lifecycle here (a
    new ``firstOccurTime``), which starts unacknowledged whatever the rule says; the flag only
    records that intent (see ``alarms.services.ack_expiry``).
    """

    filter = models.JSONField(_("filter"), default=dict, blank=True)
    expire_after_seconds = models.PositiveIntegerField(_("expire after (s)"), null=True, blank=True)
    expire_on_refire = models.BooleanField(_("expire when it fires again"), default=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("acknowledgement expiry rule")
        verbose_name_plural = _("acknowledgement expiry rules")
        ordering = ["id"]
        constraints = [
            # Zero would unacknowledge every alarm the minute it is acknowledged.
            models.CheckConstraint(
                condition=Q(expire_after_seconds__isnull=True) | Q(expire_after_seconds__gte=60),
                name="ack_expiry_at_least_a_minute",
            )
        ]

    def __str__(self) -> str:
        after = self.expire_after_seconds
        return f"ack expiry #{self.pk}" + (f" after {after} s" if after else "")
