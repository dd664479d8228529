"""Storing a callback delivery durably: the only write the callback view makes."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from django.db import IntegrityError, transaction

from ..choices import DeliveryStatus
from ..models import Delivery


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
    enqueue: Callable[[int], object] | None = None,
) -> StoredDelivery:
    """Insert a Delivery and hand its id to ``enqueue`` after commit.

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
        if enqueue is not None:
            transaction.on_commit(lambda: enqueue(delivery.pk))
    return StoredDelivery(delivery_id=delivery.pk, duplicate=False)
