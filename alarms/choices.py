"""Status vocabularies with their presentation, shared by admin, dashboard and API."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    PROCESSING = "processing", _("Processing")
    PROCESSED = "processed", _("Processed")
    DUPLICATE = "duplicate", _("Duplicate")
    FAILED = "failed", _("Failed")

    @property
    def colour(self) -> str:
        return {
            "pending": "#6c757d",
            "processing": "#0d6efd",
            "processed": "#198754",
            "duplicate": "#6c757d",
            "failed": "#dc3545",
        }[self.value]


class AlarmStatus(models.TextChoices):
    FIRING = "firing", _("Firing")
    RECOVERED = "recovered", _("Recovered")

    @property
    def colour(self) -> str:
        return {"firing": "#dc3545", "recovered": "#198754"}[self.value]


class AlarmKind(models.TextChoices):
    METRIC = "metric", _("Metric")
    EVENT = "event", _("Event")


class AlarmLevel(models.TextChoices):
    NONE = "", _("(none)")
    REMIND = "Remind", _("Remind")
    WARN = "Warn", _("Warn")
    SERIOUS = "Serious", _("Serious")


class EventType(models.TextChoices):
    TRIGGERED = "triggered", _("Triggered")
    REPEATED = "repeated", _("Repeated")
    RECOVERED = "recovered", _("Recovered")
    SUPERSEDED = "superseded", _("Superseded by a newer occurrence")
    FLAPPING = "flapping", _("Flapping")
    ACKNOWLEDGED = "acknowledged", _("Acknowledged")
    UNACKNOWLEDGED = "unacknowledged", _("Unacknowledged")
    ANNOTATED = "annotated", _("Note added")
    ESCALATED = "escalated", _("Escalated")
    SILENCED = "silenced", _("Messages muted by a silence")


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook (signed JSON)")
    WECOM = "wecom", _("WeCom group robot")
    DINGTALK = "dingtalk", _("DingTalk custom robot")
    FEISHU = "feishu", _("Feishu custom bot")
    EMAIL = "email", _("Email")


class OutboundStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SILENCED = "silenced", _("Muted by a silence")
    MERGED = "merged", _("Merged into a digest")


# Lifecycle events a channel may subscribe to (DESIGN §6 Channels).
CHANNEL_EVENTS = ("triggered", "repeated", "recovered", "acknowledged", "escalated")


# Timeline events that count as a notification from Tencent (DESIGN §2 notification_count).
NOTIFICATION_EVENT_TYPES = (EventType.TRIGGERED, EventType.REPEATED, EventType.RECOVERED)
