"""Running one stored delivery through its source's parser and the lifecycle service.

``run_delivery`` is the one way a delivery is processed, with one set of failure rules:

- a body that cannot be read as alarms → ``failed`` with the parser's message (re-processable
  after a parser fix);
- a transient database error (connection lost, serialisation failure) → handed back to
  ``pending`` and the error re-raised, so the caller may retry (the Celery task does, with
  backoff) and the stranded-delivery sweep will otherwise;
- any other error → ``failed`` with the error, never a crashed worker.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from zoneinfo import ZoneInfo

from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..choices import DeliveryStatus
from ..models import CallbackEndpoint, Delivery
from ..services.lifecycle import apply_notification
from ..sources.base import NotAnAlarm, Notification
from ..sources.registry import get_source
from .claims import claim, finish, release
from .payload import BadPayload, decode_object, storable_dataclass

logger = logging.getLogger(__name__)

TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)

SKIPPED = "skipped"  # someone else holds the claim, or the delivery is finished


def parse_delivery(delivery: Delivery, endpoint: CallbackEndpoint) -> list[Notification]:
    """Decode and parse a stored body; raises BadPayload or NotAnAlarm with a clear message."""
    if delivery.body is None:
        raise BadPayload("raw body was pruned by retention; nothing to parse")
    payload = decode_object(bytes(delivery.body))
    source = get_source(endpoint.source)
    notifications = source.parse(payload, default_tz=ZoneInfo(endpoint.timezone))
    if not notifications:
        raise NotAnAlarm("the body carries no alarm notification")
    return [storable_dataclass(n) for n in notifications]


def process_claimed(delivery_id: int) -> str:
    """Parse and apply a claimed delivery; returns its final status.

    Parse errors mark the delivery failed with the message. Database errors propagate.
    All notifications of one body are applied in one transaction: all or none.
    """
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    try:
        notifications = parse_delivery(delivery, delivery.endpoint)
    except (BadPayload, NotAnAlarm) as exc:
        finish(delivery_id, DeliveryStatus.FAILED, error=str(exc))
        return DeliveryStatus.FAILED
    with transaction.atomic():
        for notification in notifications:
            apply_notification(
                endpoint=delivery.endpoint, notification=notification, delivery=delivery
            )
        finish(delivery_id, DeliveryStatus.PROCESSED)
    return DeliveryStatus.PROCESSED


def run_delivery(delivery_id: int) -> str:
    """Claim, parse and apply one delivery; returns its final status or ``"skipped"``.

    Safe to run twice: the claim makes a rerun a no-op. Transient database errors are re-raised
    after the claim is handed back (see the module docstring).
    """
    if not claim(delivery_id):
        return SKIPPED
    try:
        return process_claimed(delivery_id)
    except TRANSIENT_DB_ERRORS:
        _release_quietly(delivery_id)
        raise
    except DatabaseError as exc:
        logger.exception("delivery %s failed with a database error", delivery_id)
        _fail_quietly(delivery_id, f"database error: {exc}")
        return DeliveryStatus.FAILED
    except Exception as exc:
        # Never let a payload crash the worker: record it and move on.
        logger.exception("delivery %s failed unexpectedly", delivery_id)
        _fail_quietly(delivery_id, f"internal error: {type(exc).__name__}: {exc}")
        return DeliveryStatus.FAILED


def _release_quietly(delivery_id: int) -> None:
    try:
        release(delivery_id)
    except DatabaseError:
        logger.warning("could not release delivery %s; the sweep will", delivery_id)


def _fail_quietly(delivery_id: int, error: str) -> None:
    try:
        finish(delivery_id, DeliveryStatus.FAILED, error=error)
    except DatabaseError:
        logger.warning("could not mark delivery %s failed; the sweep will retry it", delivery_id)


def reset_for_reprocessing(queryset: QuerySet[Delivery]) -> int:
    """Put finished deliveries back to pending (duplicates stay duplicates)."""
    return queryset.exclude(status=DeliveryStatus.DUPLICATE).update(
        status=DeliveryStatus.PENDING, error="", status_changed_at=timezone.now()
    )


def reprocess(delivery_ids: Iterable[int]) -> dict[str, int]:
    """Run deliveries through the pipeline again, here and now, in the given order.

    Idempotent: a delivery already applied to its alarm changes nothing. Returns how many ended
    in each status; ``pending`` counts transient errors left for the sweep to retry.
    """
    outcome: dict[str, int] = {}
    for delivery_id in delivery_ids:
        reset_for_reprocessing(Delivery.objects.filter(pk=delivery_id))
        try:
            result = run_delivery(delivery_id)
        except TRANSIENT_DB_ERRORS:
            result = DeliveryStatus.PENDING
        outcome[result] = outcome.get(result, 0) + 1
    return outcome
