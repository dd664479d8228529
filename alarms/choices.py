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
    REJECTED = "rejected", _("Rejected")

    @property
    def colour(self) -> str:
        return {
            "pending": "#6c757d",
            "processing": "#0d6efd",
            "processed": "#198754",
            "duplicate": "#6c757d",
            "failed": "#dc3545",
            "rejected": "#dc3545",
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


# Timeline events that count as a notification from Tencent (DESIGN §2 notification_count).
NOTIFICATION_EVENT_TYPES = (EventType.TRIGGERED, EventType.REPEATED, EventType.RECOVERED)
