"""Claiming deliveries with compare-and-set, handing them back, finishing them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from django.db import connection, transaction
from django.db.models import Case, F, TextField, Value, When
from django.utils import timezone

from ..choices import DeliveryStatus
from ..models import Delivery
from .payload import storable_text

MAX_ERROR_LENGTH = 2000


def claim(delivery_id: int) -> bool:
    """Compare-and-set pending → processing; False means someone else has it (or it is done)."""
    return bool(
        Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.PROCESSING,
            attempts=F("attempts") + 1,
            status_changed_at=timezone.now(),
        )
    )


def claim_batch(delivery_id: int, *, limit: int) -> list[int]:
    """Claim ``delivery_id`` if it is pending, and up to ``limit - 1`` more pending deliveries
    that were never tried, oldest first, skipping rows another worker is claiming right now.

    A retried delivery (claimed before: its worker died or a batch failed) is claimed alone, so
    a delivery that breaks its batch cannot take the same company down with it twice. When
    ``delivery_id`` is already done, its task still drains a batch of what is pending: during a
    storm every worker process keeps claiming work instead of skipping.
    """
    now = timezone.now()
    if connection.vendor == "postgresql":
        return _claim_batch_postgresql(delivery_id, limit=limit, now=now)
    with transaction.atomic():  # SQLite (IMMEDIATE): writers are serialised anyway
        first = list(
            Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).values_list(
                "attempts", flat=True
            )
        )
        claimed = [delivery_id] if first else []
        if limit > 1 and not (first and first[0] > 0):
            untried = Delivery.objects.filter(status=DeliveryStatus.PENDING, attempts=0)
            claimed += (
                untried.exclude(pk=delivery_id)
                .order_by("status_changed_at", "id")[: limit - 1]
                .values_list("pk", flat=True)
            )
        Delivery.objects.filter(pk__in=claimed).update(
            status=DeliveryStatus.PROCESSING, attempts=F("attempts") + 1, status_changed_at=now
        )
    return sorted(claimed)  # arrival order


def _claim_batch_postgresql(delivery_id: int, *, limit: int, now: datetime) -> list[int]:
    # One statement (one round trip, its own transaction); "more" is served by
    # delivery_stranded_idx (status_changed_at, partial on pending/processing). NO KEY UPDATE is
    # the lock the UPDATE needs, and it does not conflict with the KEY SHARE lock that storing a
    # duplicate (duplicate_of → this row) takes: such a row is claimed, not skipped.
    table = connection.ops.quote_name(Delivery._meta.db_table)
    sql = f"""
        WITH mine AS (
            SELECT id, attempts FROM {table}
            WHERE id = %(id)s AND status = %(pending)s FOR NO KEY UPDATE SKIP LOCKED
        ), more AS (
            SELECT id FROM {table}
            WHERE status = %(pending)s AND attempts = 0 AND id <> %(id)s
              AND NOT EXISTS (SELECT 1 FROM mine WHERE attempts > 0)
            ORDER BY status_changed_at, id LIMIT %(more)s FOR NO KEY UPDATE SKIP LOCKED
        )
        UPDATE {table} SET status = %(processing)s, attempts = attempts + 1,
                           status_changed_at = %(now)s
        WHERE id IN (SELECT id FROM mine UNION ALL SELECT id FROM more)
        RETURNING id
    """  # noqa: S608
    params: dict[str, int | str | datetime] = {
        "id": delivery_id,
        "pending": DeliveryStatus.PENDING,
        "processing": DeliveryStatus.PROCESSING,
        "more": max(limit - 1, 0),
        "now": now,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())  # arrival order


def release(delivery_ids: int | Sequence[int]) -> None:
    """Hand claimed deliveries back (a transient error); a retry or the sweep picks them up."""
    ids = [delivery_ids] if isinstance(delivery_ids, int) else list(delivery_ids)
    Delivery.objects.filter(pk__in=ids, status=DeliveryStatus.PROCESSING).update(
        status=DeliveryStatus.PENDING, status_changed_at=timezone.now()
    )


def finish(delivery_ids: int | Sequence[int], status: str, *, error: str = "") -> None:
    """Record deliveries' final status (the alarms they touched are in their timelines)."""
    ids = [delivery_ids] if isinstance(delivery_ids, int) else list(delivery_ids)
    if not ids:
        return
    Delivery.objects.filter(pk__in=ids).update(
        status=status,
        error=_storable_error(error),
        processed_at=timezone.now(),
        status_changed_at=timezone.now(),
    )


def fail(errors: Mapping[int, str]) -> None:
    """Mark deliveries failed, each with its own error, in one statement."""
    if not errors:
        return
    now = timezone.now()
    Delivery.objects.filter(pk__in=list(errors)).update(
        status=DeliveryStatus.FAILED,
        error=Case(
            *(When(pk=pk, then=Value(_storable_error(error))) for pk, error in errors.items()),
            output_field=TextField(),
        ),
        processed_at=now,
        status_changed_at=now,
    )


def _storable_error(error: str) -> str:
    # An exception's text may hold a NUL, which PostgreSQL text refuses: the delivery would stay
    # "processing" and be re-queued forever.
    return storable_text(error)[:MAX_ERROR_LENGTH]
