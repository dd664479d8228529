"""Retention: what is pruned, and when (ALARMHUB_RETENTION_DAYS)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from ..choices import DeliveryStatus
from ..models import Delivery


def prune_old_bodies(*, days: int | None = None) -> int:
    """Drop raw bodies of finished deliveries older than the retention period; alarms stay."""
    days = days or settings.ALARMHUB_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    return Delivery.objects.filter(
        received_at__lt=cutoff,
        body__isnull=False,
        status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.DUPLICATE, DeliveryStatus.FAILED],
    ).update(body=None)
