"""Claiming deliveries with compare-and-set, handing them back, finishing them."""

from __future__ import annotations

from django.db.models import F
from django.utils import timezone

from ..choices import DeliveryStatus
from ..models import Delivery

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


def release(delivery_id: int) -> None:
    """Hand a claimed delivery back (a transient error); a retry or the sweep picks it up."""
    Delivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PROCESSING).update(
        status=DeliveryStatus.PENDING, status_changed_at=timezone.now()
    )


def finish(delivery_id: int, status: str, *, error: str = "") -> None:
    """Record a delivery's final status (the alarms it touched are in their timelines)."""
    Delivery.objects.filter(pk=delivery_id).update(
        status=status,
        error=error[:MAX_ERROR_LENGTH],
        processed_at=timezone.now(),
        status_changed_at=timezone.now(),
    )
