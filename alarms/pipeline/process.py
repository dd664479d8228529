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
from collections.abc import Callable, Iterable, Sequence
from itertools import groupby
from zoneinfo import ZoneInfo

from django.db import DatabaseError, InterfaceError, OperationalError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..choices import DeliveryStatus
from ..models import CallbackEndpoint, Delivery
from ..services.lifecycle import Application, apply_notifications
from ..sources.base import NotAnAlarm, Notification
from ..sources.registry import get_source
from .claims import claim, claim_batch, fail, finish, release
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


def process_claimed(delivery_ids: int | Sequence[int]) -> dict[int, str]:
    """Parse and apply claimed deliveries; returns each one's final status.

    Bodies that cannot be read as alarms are marked failed with the message; the other
    deliveries' notifications are applied together (``apply_notifications``), in transactions of
    whole deliveries holding at most ``MAX_NOTIFICATIONS_PER_TRANSACTION`` notifications each
    (one transaction for any batch of Tencent bodies). Database errors propagate.
    """
    ids = [delivery_ids] if isinstance(delivery_ids, int) else list(delivery_ids)
    deliveries = Delivery.objects.select_related("endpoint").in_bulk(ids)
    applications: list[Application] = []
    failed: dict[int, str] = {}
    for delivery_id in ids:
        delivery = deliveries.get(delivery_id)
        if delivery is None:
            continue  # deleted meanwhile (an admin, or retention): nothing to do
        try:
            notifications = parse_delivery(delivery, delivery.endpoint)
        except (BadPayload, NotAnAlarm) as exc:
            failed[delivery_id] = str(exc)
            continue
        applications += [Application(delivery.endpoint, n, delivery) for n in notifications]
    processed = [pk for pk in ids if pk in deliveries and pk not in failed]
    chunks = _by_notification_budget(applications)
    fail(failed)
    for chunk in chunks:
        # Each chunk commits on its own: its identity locks are released at its end.
        with transaction.atomic():
            apply_notifications(chunk)
            finish(
                sorted({app.delivery.pk for app in chunk if app.delivery}), DeliveryStatus.PROCESSED
            )
    statuses: dict[int, str] = dict.fromkeys(processed, DeliveryStatus.PROCESSED)
    statuses.update(dict.fromkeys(failed, DeliveryStatus.FAILED))
    return statuses


# Notifications one transaction applies at most: each distinct identity holds an advisory lock
# until the commit, and PostgreSQL's shared lock table (max_locks_per_transaction × connections,
# ~6,400 by default) is shared by every session. Alertmanager bodies can carry thousands.
MAX_NOTIFICATIONS_PER_TRANSACTION = 1000


def _by_notification_budget(applications: list[Application]) -> list[list[Application]]:
    """Applications cut into chunks of whole deliveries, each within the budget (a delivery
    bigger than the budget is a chunk of its own: a body is applied all or nothing)."""
    chunks: list[list[Application]] = []
    current: list[Application] = []
    for _, group in groupby(applications, key=lambda app: app.delivery):
        items = list(group)
        if current and len(current) + len(items) > MAX_NOTIFICATIONS_PER_TRANSACTION:
            chunks.append(current)
            current = []
        current += items
    if current:
        chunks.append(current)
    return chunks


def run_delivery(delivery_id: int) -> str:
    """Claim, parse and apply one delivery; returns its final status or ``"skipped"``.

    Safe to run twice: the claim makes a rerun a no-op. Transient database errors are re-raised
    after the claim is handed back (see the module docstring).
    """
    if not claim(delivery_id):
        return SKIPPED
    return _run_claimed([delivery_id], delivery_id)


def run_deliveries(
    delivery_id: int, *, limit: int, requeue: Callable[[list[int]], object] | None = None
) -> str:
    """Claim ``delivery_id`` with up to ``limit - 1`` other pending deliveries and process them
    as one batch (``claims.claim_batch``); returns ``delivery_id``'s status or ``"skipped"``.

    A batch that fails on a non-transient error is processed again one delivery at a time, so
    one bad delivery is marked failed and the rest go through. On a transient error every claim
    is handed back, ``requeue`` is given the ids other than ``delivery_id`` and the error is
    re-raised for the caller to retry ``delivery_id``.
    """
    ids = claim_batch(delivery_id, limit=limit)
    if not ids:
        return SKIPPED
    try:
        return _run_claimed(ids, delivery_id)
    except TRANSIENT_DB_ERRORS:
        others = [pk for pk in ids if pk != delivery_id]
        if others and requeue is not None:
            requeue(others)
        raise


def _run_claimed(ids: list[int], wanted: int) -> str:
    try:
        return process_claimed(ids).get(wanted, SKIPPED)
    except TRANSIENT_DB_ERRORS:
        _release_quietly(ids)
        raise
    except Exception as exc:
        if _is_time_limit(exc):
            # Not the payload's fault: hand the claims back for the sweep, never mark them failed.
            _release_quietly(ids)
            raise
        if len(ids) > 1:
            logger.warning(
                "a batch of %d deliveries failed (%s: %s); processing them one at a time",
                len(ids),
                type(exc).__name__,
                exc,
            )
            return _one_at_a_time(ids, wanted)
        if isinstance(exc, DatabaseError):
            logger.exception("delivery %s failed with a database error", ids[0])
            _fail_quietly(ids[0], f"database error: {exc}")
        else:
            # Never let a payload crash the worker: record it and move on.
            logger.exception("delivery %s failed unexpectedly", ids[0])
            _fail_quietly(ids[0], f"internal error: {type(exc).__name__}: {exc}")
        return DeliveryStatus.FAILED


def _is_time_limit(exc: BaseException) -> bool:
    # Celery's soft time limit (billiard's SoftTimeLimitExceeded), matched by name so that the
    # pipeline does not import Celery.
    return type(exc).__name__ == "SoftTimeLimitExceeded"


def _one_at_a_time(ids: list[int], wanted: int) -> str:
    result = SKIPPED
    for position, delivery_id in enumerate(ids):
        try:
            status = _run_claimed([delivery_id], delivery_id)
        except Exception as exc:
            if isinstance(exc, TRANSIENT_DB_ERRORS) or _is_time_limit(exc):
                _release_quietly(ids[position + 1 :])
            raise
        if delivery_id == wanted:
            result = status
    return result


def _release_quietly(delivery_ids: list[int]) -> None:
    try:
        release(delivery_ids)
    except DatabaseError:
        logger.warning("could not release deliveries %s; the sweep will", delivery_ids)


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


def run_claimed(delivery_ids: list[int]) -> None:
    """Process deliveries already claimed (``claims.claim_batch``) under the batch's failure
    rules: a bad delivery is marked failed, a transient error hands every claim back and is
    re-raised."""
    _run_claimed(delivery_ids, delivery_ids[0])
