"""Reads about the processing pipeline itself: backlog, stalls, the beat heartbeat.

Shared by ``/metrics`` (``alarms.ops.metrics``) and the admin and console warning
(``alarms.templatetags.alarmhub_ops``). Every query but ``delivery_counts_by_status`` is
bounded by the backlog (deliveries not processed yet) or is a primary-key look-up, not by the
size of the delivery table.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Min
from django.utils import timezone

from ..choices import DeliveryStatus
from ..models import Delivery, Heartbeat, PruneTally

# Statuses a delivery is in until a worker has finished it (the sweep's definition too).
UNFINISHED = (DeliveryStatus.PENDING, DeliveryStatus.PROCESSING)


def delivery_counts_by_status() -> dict[str, int]:
    """Deliveries per status, all time: a GROUP BY over ``delivery_status_idx`` alone.

    The one read here that grows with the table (an index-only scan in PostgreSQL).
    """
    rows = Delivery.objects.order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}


def unfinished_deliveries() -> tuple[int, datetime | None]:
    """How many deliveries wait for a worker, and when the oldest of them was received.

    ``status IN (pending, processing)`` is the predicate of the partial index
    ``delivery_stranded_idx``, so only the backlog's index entries are read. The age comes from
    ``received_at``, not ``status_changed_at``: the sweep resets ``status_changed_at`` each time
    it re-queues a delivery, so with no worker running that age would never pass the requeue
    delay, and the oldest callback would look a minute old forever.
    """
    row = Delivery.objects.filter(status__in=UNFINISHED).aggregate(
        count=Count("id"), oldest=Min("received_at")
    )
    return row["count"], row["oldest"]


def stalled_deliveries_count(now: datetime | None = None) -> int:
    """Deliveries received longer than ALARMHUB_REQUEUE_AFTER_SECONDS ago and still unprocessed.

    A healthy worker finishes a delivery in well under a second, so any such row means no
    worker is reading the queue (or it is far behind). Measured from ``received_at`` for the
    reason given in ``unfinished_deliveries``; a delivery just sent back for reprocessing
    counts too until a worker has run it. ``delivery_status_idx`` (status, -received_at) answers
    the range on each of the two statuses.
    """
    cutoff = (now or timezone.now()) - timedelta(seconds=settings.ALARMHUB_REQUEUE_AFTER_SECONDS)
    return Delivery.objects.filter(status__in=UNFINISHED, received_at__lt=cutoff).count()


def last_sweep_at() -> datetime | None:
    """When celery beat last ran the stranded-delivery sweep (None: never); a key look-up."""
    return Heartbeat.objects.filter(name=Heartbeat.SWEEP).values_list("at", flat=True).first()


def sweep_is_late(now: datetime | None = None) -> bool:
    """Beat missed three sweeps in a row (or never ran one). Embedded mode has no beat: False."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return False
    at = last_sweep_at()
    allowance = timedelta(seconds=3 * settings.ALARMHUB_SWEEP_INTERVAL_SECONDS)
    return at is None or (now or timezone.now()) - at > allowance


def pruned_rows_by_table() -> list[tuple[str, int]]:
    """What retention has deleted so far, per table (one query over a handful of rows)."""
    return list(PruneTally.objects.order_by("table").values_list("table", "rows"))
