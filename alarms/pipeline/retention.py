"""Retention: what is pruned, and when (issue 15).

Everything that grows with traffic has a retention period (days, from settings):

- raw delivery bodies — ``ALARMHUB_RETENTION_DAYS`` (the row stays);
- delivery rows — ``ALARMHUB_DELIVERY_RETENTION_DAYS``; finished ones only (processed, duplicate,
  failed), never pending or processing. Timeline events keep their place: ``AlarmEvent.delivery``
  is SET_NULL;
- outbound message rows (with their attempts) — ``ALARMHUB_OUTBOUND_RETENTION_DAYS``; finished
  ones only, never pending or sending;
- alarms — ``ALARMHUB_ALARM_RETENTION_DAYS``, unset by default: summaries are kept for ever.
  When set, recovered alarms older than it go with their timeline, notes and messages.

Every deletion runs in batches of at most ``BATCH_SIZE`` ids, each batch its own short
transaction: no statement holds locks for long while callbacks keep arriving, and an interrupted
run has kept what it did (a rerun continues). Counts are keyed by database table.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from django.apps import apps
from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from ..choices import AlarmStatus, DeliveryStatus, OutboundStatus
from ..models import (
    Alarm,
    AlarmEvent,
    Delivery,
    Note,
    OutboundAttempt,
    OutboundMessage,
    PruneTally,
)

logger = logging.getLogger(__name__)

M = TypeVar("M", bound=models.Model)

BATCH_SIZE = 5000
# A recovered alarm drags its timeline and messages along: fewer per batch keeps it short.
ALARM_BATCH_SIZE = 500

FINISHED_DELIVERIES = (DeliveryStatus.PROCESSED, DeliveryStatus.DUPLICATE, DeliveryStatus.FAILED)
FINISHED_MESSAGES = (
    OutboundStatus.SENT,
    OutboundStatus.FAILED,
    OutboundStatus.SILENCED,
    OutboundStatus.MERGED,
)
# The key under which cleared bodies are counted (the rows themselves stay).
BODIES = f"{Delivery._meta.db_table}.body"


@dataclass
class PruneResult:
    """Rows pruned (or, in a dry run, that would be) per table; ``complete`` is False when a
    time budget ran out with work left."""

    rows: Counter[str] = field(default_factory=Counter)
    complete: bool = True

    @property
    def total(self) -> int:
        return sum(self.rows.values())


def _cutoff(days: int) -> datetime:
    return timezone.now() - timedelta(days=days)


def _deliveries(days: int) -> models.QuerySet[Delivery]:
    return Delivery.objects.filter(received_at__lt=_cutoff(days), status__in=FINISHED_DELIVERIES)


def _messages(days: int) -> models.QuerySet[OutboundMessage]:
    return OutboundMessage.objects.filter(
        created_at__lt=_cutoff(days), status__in=FINISHED_MESSAGES
    )


def _alarms(days: int) -> models.QuerySet[Alarm]:
    return Alarm.objects.filter(status=AlarmStatus.RECOVERED, recovered_at__lt=_cutoff(days))


def _delete_in_batches(
    candidates: models.QuerySet[M],
    batch_size: int,
    result: PruneResult,
    out_of_time: Callable[[], bool],
) -> None:
    """Delete ``candidates`` a batch of ids at a time, re-checking the filter in each DELETE:
    a row that changed since it was picked (a delivery reset to pending) is left alone."""
    while True:
        if out_of_time():
            result.complete = False
            return
        ids = list(candidates.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        with transaction.atomic():
            # only("pk"): the collector need not read bodies it is about to delete; SET_NULL
            # and CASCADE relations are handled with one statement per related table.
            _, per_model = candidates.filter(pk__in=ids).only("pk").delete()
        for label, count in per_model.items():
            if count:
                result.rows[_table(label)] += count


def _table(label: str) -> str:
    return str(apps.get_model(label)._meta.db_table)


def prune_old_bodies(
    *,
    days: int | None = None,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
    out_of_time: Callable[[], bool] = lambda: False,
) -> int:
    """Drop raw bodies of finished deliveries older than the retention period; rows stay."""
    days = days or settings.ALARMHUB_RETENTION_DAYS
    candidates = _deliveries(days).filter(body__isnull=False)
    if dry_run:
        return candidates.count()
    cleared = 0
    while not out_of_time():
        ids = list(candidates.order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            break
        cleared += candidates.filter(pk__in=ids).update(body=None)
    return cleared


def prune(
    *,
    dry_run: bool = False,
    budget_seconds: float | None = None,
    batch_size: int = BATCH_SIZE,
    alarm_batch_size: int = ALARM_BATCH_SIZE,
) -> PruneResult:
    """Apply every retention period; with ``budget_seconds``, stop between batches once it is
    spent (``complete`` is then False and a later run continues).

    Alarms go first, so their events no longer need their delivery links cleared.
    """
    result = PruneResult()
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds

    def out_of_time() -> bool:
        return deadline is not None and time.monotonic() >= deadline

    alarm_days: int | None = settings.ALARMHUB_ALARM_RETENTION_DAYS
    delivery_days: int = settings.ALARMHUB_DELIVERY_RETENTION_DAYS
    outbound_days: int = settings.ALARMHUB_OUTBOUND_RETENTION_DAYS

    if dry_run:
        if alarm_days:
            alarms = _alarms(alarm_days)
            result.rows[Alarm._meta.db_table] = alarms.count()
            result.rows[AlarmEvent._meta.db_table] = AlarmEvent.objects.filter(
                alarm__in=alarms
            ).count()
            result.rows[Note._meta.db_table] = Note.objects.filter(alarm__in=alarms).count()
        messages = OutboundMessage.objects.filter(
            models.Q(pk__in=_messages(outbound_days))
            | models.Q(alarm__in=_alarms(alarm_days) if alarm_days else Alarm.objects.none())
        )
        result.rows[OutboundMessage._meta.db_table] = messages.count()
        result.rows[OutboundAttempt._meta.db_table] = OutboundAttempt.objects.filter(
            message__in=messages
        ).count()
        result.rows[Delivery._meta.db_table] = _deliveries(delivery_days).count()
    else:
        if alarm_days:
            _delete_in_batches(_alarms(alarm_days), alarm_batch_size, result, out_of_time)
        _delete_in_batches(_messages(outbound_days), batch_size, result, out_of_time)
        _delete_in_batches(_deliveries(delivery_days), batch_size, result, out_of_time)

    if dry_run:
        # Bodies of rows the delivery retention deletes anyway are not counted twice.
        result.rows[BODIES] = (
            _deliveries(settings.ALARMHUB_RETENTION_DAYS)
            .filter(body__isnull=False, received_at__gte=_cutoff(delivery_days))
            .count()
        )
    else:
        result.rows[BODIES] = prune_old_bodies(batch_size=batch_size, out_of_time=out_of_time)
    if out_of_time():
        result.complete = False
    result.rows = +result.rows  # drop the zeros
    if not dry_run and result.total:
        PruneTally.add(dict(result.rows))
        logger.info("retention pruned %s", dict(result.rows))
    return result
