"""Storing callback deliveries: the only work the callback view does besides HTTP."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from .choices import DeliveryStatus
from .models import Delivery

logger = logging.getLogger(__name__)


class BadPayload(ValueError):
    """The body is not a JSON object; the message is safe to show the sender."""


# Tencent bodies nest four levels deep. A limit far above that keeps every later recursive step
# (text clean-up, JSONField encoding, the database's own JSON parser) clear of Python's recursion
# limit, whatever the caller's stack depth; RFC 8259 §9 lets a parser limit nesting.
MAX_JSON_DEPTH = 64


def _parse_float(text: str) -> float | str:
    # 1e400 is valid JSON but overflows to inf, which no database accepts in a JSON column:
    # keep the number as its text rather than lose the whole alarm.
    number = float(text)
    return number if math.isfinite(number) else text


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON value")


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests more than MAX_JSON_DEPTH arrays/objects (iterative: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        if depth > MAX_JSON_DEPTH:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def decode_object(body: bytes) -> dict[str, Any]:
    """Decode a callback body; it must be a JSON object."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadPayload(f"body is not UTF-8 text (byte {exc.start})") from None
    try:
        value = json.loads(text, parse_float=_parse_float, parse_constant=_reject_constant)
    except RecursionError:
        raise BadPayload("body is not valid JSON: nested too deeply") from None
    except ValueError as exc:
        raise BadPayload(f"body is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadPayload(f"body must be a JSON object, not {type(value).__name__}")
    if _too_deep(value):
        raise BadPayload(f"body is not valid JSON: nested deeper than {MAX_JSON_DEPTH} levels")
    return value


@dataclass(frozen=True)
class StoredDelivery:
    delivery_id: int
    duplicate: bool


def store_delivery(
    *,
    endpoint_id: int,
    body: bytes,
    session_id: str,
    remote_addr: str | None,
    content_type: str,
    user_agent: str,
) -> StoredDelivery:
    """Insert a Delivery and queue its processing after commit.

    A byte-identical body already stored for this endpoint (a Tencent retry) is recorded as
    a duplicate and not queued; the unique index decides, so racing re-sends are safe too.
    Raises DatabaseError when the row cannot be stored.
    """
    digest = hashlib.sha256(body).hexdigest()
    fields = {
        "endpoint_id": endpoint_id,
        "body": body,
        "body_sha256": digest,
        "session_id": session_id[:200],
        "remote_addr": remote_addr,
        "content_type": content_type[:200],
        "user_agent": user_agent[:300],
    }
    with transaction.atomic():
        try:
            with transaction.atomic():
                delivery = Delivery.objects.create(unique_body_sha256=digest, **fields)
        except IntegrityError:
            original = (
                Delivery.objects.filter(endpoint_id=endpoint_id, unique_body_sha256=digest)
                .values_list("pk", flat=True)
                .first()
            )
            delivery = Delivery.objects.create(
                status=DeliveryStatus.DUPLICATE, duplicate_of_id=original, **fields
            )
            return StoredDelivery(delivery_id=delivery.pk, duplicate=True)
        transaction.on_commit(lambda: enqueue_delivery(delivery.pk))
    return StoredDelivery(delivery_id=delivery.pk, duplicate=False)


def enqueue_delivery(delivery_id: int) -> bool:
    """Publish the processing task; a broker failure is logged, never raised.

    The delivery is already on disk, so the stranded-delivery sweep will queue it again.
    """
    from .tasks import process_delivery

    try:
        process_delivery.delay(delivery_id)
    except Exception:
        logger.exception("could not queue delivery %s; the sweep will re-queue it", delivery_id)
        return False
    if settings.CELERY_TASK_ALWAYS_EAGER:
        _sweep_in_process_if_due()
    return True


_last_embedded_sweep = 0.0


def _sweep_in_process_if_due() -> None:
    """Embedded mode has no beat: callbacks themselves run the stranded-delivery sweep."""
    global _last_embedded_sweep
    now = time.monotonic()
    if now - _last_embedded_sweep < settings.ALARMHUB_SWEEP_INTERVAL_SECONDS:
        return
    _last_embedded_sweep = now
    from .processing import requeue_stranded

    try:
        requeue_stranded()
    except Exception:
        logger.exception("in-process sweep failed; the next callback will try again")
