"""Celery tasks, the only Celery module: thin wrappers that take ids and call the pipeline.

Publishing lives here too (``enqueue_delivery``), so the pipeline never imports Celery and the
import graph has no loop: views and commands → tasks → pipeline → services → models.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from celery import shared_task
from celery.signals import task_postrun, task_prerun
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import QuerySet

from .choices import DeliveryStatus
from .models import Delivery, Heartbeat
from .pipeline import retention, sweep, wakeups
from .pipeline.process import (
    TRANSIENT_DB_ERRORS,
    reset_for_reprocessing,
    run_deliveries,
    run_delivery,
)

logger = logging.getLogger(__name__)


@task_prerun.connect
@task_postrun.connect
def _recycle_stale_db_connections(sender: Any = None, **kwargs: Any) -> None:
    """Drop connections that broke or outlived CONN_MAX_AGE, as Django does per request.

    Workers keep their connection across tasks (CELERY_DB_REUSE_MAX); this arms Django's
    health check so the first query of a task after a database restart reconnects.
    Eager tasks run inside the caller's transaction and are left alone.
    """
    if sender is not None and getattr(sender.request, "is_eager", False):
        return
    close_old_connections()


@shared_task(
    name="alarms.tasks.process_delivery",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
)
def process_delivery(
    delivery_id: int, settle_seconds: float = 0.0, published_at: float | None = None
) -> str:
    """Run a delivery — with a batch of whatever else is pending, during a storm — then drain
    what is left, covering the deliveries whose wake-up was coalesced into this task
    (``settle_seconds``: the web's coalescing window; see ``alarms.pipeline.wakeups``).

    Transient database errors are retried with backoff; the rest of a failed batch is queued
    again. Embedded mode (tasks run in the request) processes the one delivery.
    """
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return run_delivery(delivery_id)
    started = time.monotonic()
    limit = settings.ALARMHUB_PROCESS_BATCH_SIZE
    status = run_deliveries(delivery_id, limit=limit, requeue=_enqueue_each)
    window = wakeups.settle_window(settle_seconds, published_at, now=time.time())
    drained = wakeups.drain(
        limit=limit,
        settle_until=started + window,
        requeue=_enqueue_each,
        budget_seconds=wakeups.DRAIN_BUDGET_SECONDS,
    )
    if not drained:
        _publish_wakeup(delivery_id, settle_seconds=0.0)  # more is pending: a fresh task goes on
    return status


def _enqueue_each(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        enqueue_delivery(delivery_id)


@shared_task(name="alarms.tasks.requeue_stranded_deliveries")
def requeue_stranded_deliveries() -> int:
    requeued = sweep.requeue_stranded(enqueue=enqueue_delivery).requeued
    # Beat's heartbeat (alarmhub_last_sweep_timestamp_seconds): recorded after a sweep that ran.
    Heartbeat.beat(Heartbeat.SWEEP)
    return requeued


@shared_task(name="alarms.tasks.prune_old_deliveries")
def prune_old_deliveries() -> int:
    """Apply every retention period (the name predates rows being pruned, not only bodies).

    Each run stops well inside the task time limit; when work is left (a first run over years
    of rows) it queues itself again instead of holding a worker for hours.
    """
    result = retention.prune(budget_seconds=RETENTION_BUDGET_SECONDS)
    if not result.complete and not settings.CELERY_TASK_ALWAYS_EAGER:
        prune_old_deliveries.delay()
    return result.total


# Below CELERY_TASK_SOFT_TIME_LIMIT (90 s by default): batches are seconds each.
RETENTION_BUDGET_SECONDS = 60.0


# --- outbound messages (DESIGN §6 Channels) --------------------------------------------------


@shared_task(
    name="alarms.tasks.send_outbound_message",
    autoretry_for=TRANSIENT_DB_ERRORS,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
    max_retries=8,
)
def send_outbound_message(message_id: int) -> str:
    """Send one outbox message (a no-op unless it is pending and due)."""
    from .notify.sender import send_message

    return send_message(message_id)


@shared_task(name="alarms.tasks.requeue_outbound_messages")
def requeue_outbound_messages() -> int:
    from .services.outbox import requeue_due_messages

    return requeue_due_messages().requeued


@shared_task(name="alarms.tasks.escalate_unacknowledged_alarms")
def escalate_unacknowledged_alarms() -> int:
    from .services.escalation import escalate_overdue_alarms

    return escalate_overdue_alarms()


@shared_task(name="alarms.tasks.expire_acknowledgements")
def expire_acknowledgements() -> int:
    from .services.ack_expiry import expire_acknowledgements

    return expire_acknowledgements()


@shared_task(name="alarms.tasks.rebuild_stats_rollups")
def rebuild_stats_rollups() -> int:
    from .services.stats_rollup import rebuild_marked_hours

    return rebuild_marked_hours()


def enqueue_delivery(delivery_id: int) -> bool:
    """Publish the processing task; a broker failure is logged, never raised.

    The delivery is already on disk, so the stranded-delivery sweep will queue it again.
    """
    try:
        process_delivery.delay(delivery_id)
    except Exception:
        logger.exception("could not queue delivery %s; the sweep will re-queue it", delivery_id)
        return False
    if settings.CELERY_TASK_ALWAYS_EAGER:
        _sweep_in_process_if_due()
    return True


_wakeups = wakeups.WakeupCoalescer()


def wake_worker_for(delivery_id: int) -> bool:
    """Have a just-stored new delivery processed: publish a task, unless one published less
    than ``ALARMHUB_WAKEUP_COALESCE_MS`` ago by this process will claim it anyway.

    Only for deliveries never tried (the callback view's): a drain claims no other kind. A
    broker failure is logged, never raised; the sweep queues the delivery again.
    """
    window = settings.ALARMHUB_WAKEUP_COALESCE_MS / 1000
    if settings.CELERY_TASK_ALWAYS_EAGER or window <= 0:
        return enqueue_delivery(delivery_id)
    if _wakeups.covered(window):
        return True
    began = _wakeups.now()
    if _publish_wakeup(delivery_id, settle_seconds=window):
        _wakeups.published(began)
        return True
    return False


def _publish_wakeup(delivery_id: int, *, settle_seconds: float) -> bool:
    try:
        process_delivery.apply_async(
            (delivery_id,), {"settle_seconds": settle_seconds, "published_at": time.time()}
        )
    except Exception:
        logger.exception("could not queue delivery %s; the sweep will re-queue it", delivery_id)
        return False
    return True


def requeue_for_reprocessing(queryset: QuerySet[Delivery]) -> int:
    """Reset deliveries to pending and queue them once that is committed; returns how many.

    Queueing before the commit could let a worker see the old status and skip the delivery.
    """
    reset = reset_for_reprocessing(queryset)
    ids = list(queryset.filter(status=DeliveryStatus.PENDING).values_list("pk", flat=True))
    transaction.on_commit(lambda: [enqueue_delivery(pk) for pk in ids])
    return reset


_last_embedded_sweep = 0.0


def _sweep_in_process_if_due() -> None:
    """Embedded mode has no beat: callbacks themselves run the stranded-delivery sweep."""
    global _last_embedded_sweep
    now = time.monotonic()
    if now - _last_embedded_sweep < settings.ALARMHUB_SWEEP_INTERVAL_SECONDS:
        return
    _last_embedded_sweep = now
    try:
        sweep.requeue_stranded(enqueue=enqueue_delivery)
        from .services.outbox import requeue_due_messages

        requeue_due_messages()
    except Exception:
        logger.exception("in-process sweep failed; the next callback will try again")
