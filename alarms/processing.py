"""Turning stored deliveries into alarm changes (run by Celery workers)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from . import services
from .choices import DeliveryStatus
from .ingest import BadPayload, decode_object
from .models import CallbackEndpoint, Delivery
from .sources import tencent
from .sources.base import NotAnAlarm, Notification
from .text import storable_dataclass

logger = logging.getLogger(__name__)

MAX_ERROR_LENGTH = 2000


def parse_delivery(delivery: Delivery, endpoint: CallbackEndpoint) -> Notification:
    """Decode and parse a stored body; raises BadPayload or NotAnAlarm with a clear message."""
    if delivery.body is None:
        raise BadPayload("raw body was pruned by retention; nothing to parse")
    payload = decode_object(bytes(delivery.body))
    notification = tencent.parse(payload, default_tz=ZoneInfo(endpoint.timezone))
    return storable_dataclass(notification)


def claim(delivery_id: int) -> bool:
    """Compare-and-set pending → processing; False means someone else has it (or it is done)."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.PROCESSING,
            attempts=F("attempts") + 1,
            status_changed_at=timezone.now(),
        )
    )


def release(delivery_id: int) -> None:
    """Hand a claimed delivery back (a transient error); a retry or the sweep picks it up."""
    Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PROCESSING).update(
        status=DeliveryStatus.PENDING, status_changed_at=timezone.now()
    )


def finish(delivery_id: int, status: str, *, error: str = "", alarm_id: int | None = None) -> None:
    Delivery.objects.filter(pk=delivery_id).update(
        status=status,
        error=error[:MAX_ERROR_LENGTH],
        alarm_id=alarm_id,
        processed_at=timezone.now(),
        status_changed_at=timezone.now(),
    )


def process_claimed(delivery_id: int) -> str:
    """Parse and apply a claimed delivery; returns its final status.

    Parse errors and unexpected errors mark the delivery failed with the message. Database
    errors propagate (the caller releases the claim and retries).
    """
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    try:
        notification = parse_delivery(delivery, delivery.endpoint)
    except (BadPayload, NotAnAlarm) as exc:
        finish(delivery_id, DeliveryStatus.FAILED, error=str(exc))
        return DeliveryStatus.FAILED
    with transaction.atomic():
        result = services.apply_notification(
            endpoint=delivery.endpoint, notification=notification, delivery=delivery
        )
        finish(delivery_id, DeliveryStatus.PROCESSED, alarm_id=result.alarm.pk)
    return DeliveryStatus.PROCESSED


def reset_for_reprocessing(queryset: Any) -> int:
    """Put finished deliveries back to pending (duplicates stay duplicates)."""
    return queryset.exclude(status=DeliveryStatus.DUPLICATE).update(
        status=DeliveryStatus.PENDING, error="", status_changed_at=timezone.now()
    )


def stranded_deliveries(now: Any = None) -> Any:
    """Deliveries left pending or processing longer than ALARMHUB_REQUEUE_AFTER_SECONDS."""
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ALARMHUB_REQUEUE_AFTER_SECONDS)
    return Delivery.objects.filter(
        Q(status=DeliveryStatus.PENDING) | Q(status=DeliveryStatus.PROCESSING),
        status_changed_at__lt=cutoff,
    )


@dataclass(frozen=True)
class SweepResult:
    requeued: int
    publish_failures: int


def requeue_stranded(*, limit: int = 5000) -> SweepResult:
    """Re-queue deliveries whose queue message was lost (broker down, worker killed)."""
    from .ingest import enqueue_delivery

    ids = list(
        stranded_deliveries().order_by("status_changed_at").values_list("pk", flat=True)[:limit]
    )
    now = timezone.now()
    # Stuck "processing" rows belong to a dead worker: hand them back before re-queueing.
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PROCESSING).update(
        status=DeliveryStatus.PENDING
    )
    Delivery.objects.filter(pk__in=ids).update(status_changed_at=now)
    failures = sum(0 if enqueue_delivery(pk) else 1 for pk in ids)
    if ids:
        logger.info("re-queued %d stranded deliveries (%d publish failures)", len(ids), failures)
    return SweepResult(requeued=len(ids) - failures, publish_failures=failures)


def prune_old_bodies(*, days: int | None = None) -> int:
    """Drop raw bodies of finished deliveries older than the retention period; alarms stay."""
    days = days or settings.ALARMHUB_RETENTION_DAYS
    cutoff = timezone.now() - timedelta(days=days)
    return Delivery.objects.filter(
        received_at__lt=cutoff,
        body__isnull=False,
        status__in=[DeliveryStatus.PROCESSED, DeliveryStatus.DUPLICATE, DeliveryStatus.FAILED],
    ).update(body=None)
