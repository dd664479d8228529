"""Delivery reads: the alarms each delivery touched, without a query per row."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from ..choices import NOTIFICATION_EVENT_TYPES
from ..models import AlarmEvent, Delivery


def with_alarm_ids(queryset: QuerySet[Delivery]) -> QuerySet[Delivery]:
    """Prefetch what ``Delivery.alarm_ids`` reads: one more query per page, not per row."""
    events = AlarmEvent.objects.filter(type__in=NOTIFICATION_EVENT_TYPES).only(
        "id", "alarm_id", "delivery_id"
    )
    return queryset.prefetch_related(
        Prefetch("events", queryset=events, to_attr="notification_events")
    )


def deliveries_of(alarm_id: int) -> QuerySet[Delivery]:
    """The deliveries applied to an alarm (its trigger, repeats, recovery), oldest first."""
    return (
        Delivery.objects.filter(
            events__alarm_id=alarm_id, events__type__in=NOTIFICATION_EVENT_TYPES
        )
        .distinct()
        .order_by("received_at", "id")
    )
