"""Finding deliveries whose queue message was lost, and queueing them again."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from ..choices import DeliveryStatus
from ..models import Delivery

logger = logging.getLogger(__name__)


def stranded_deliveries(now: datetime | None = None) -> QuerySet[Delivery]:
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


def requeue_stranded(*, enqueue: Callable[[int], bool], limit: int = 5000) -> SweepResult:
    """Re-queue deliveries whose queue message was lost (broker down, worker killed).

    ``enqueue`` publishes one delivery id and says whether it could (``tasks.enqueue_delivery``).
    """

    ids = list(
        stranded_deliveries().order_by("status_changed_at").values_list("pk", flat=True)[:limit]
    )
    now = timezone.now()
    # Stuck "processing" rows belong to a dead worker: hand them back before re-queueing.
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PROCESSING).update(
        status=DeliveryStatus.PENDING
    )
    Delivery.objects.filter(pk__in=ids).update(status_changed_at=now)
    failures = sum(0 if enqueue(pk) else 1 for pk in ids)
    if ids:
        logger.info("re-queued %d stranded deliveries (%d publish failures)", len(ids), failures)
    return SweepResult(requeued=len(ids) - failures, publish_failures=failures)
