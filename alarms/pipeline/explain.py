"""Why two callbacks were or were not paired: the parse, the identity and the match."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from ..choices import NOTIFICATION_EVENT_TYPES
from ..models import Alarm, Delivery
from ..sources.base import NotAnAlarm
from .payload import BadPayload
from .process import parse_delivery


@dataclass(frozen=True)
class Explanation:
    delivery: Delivery
    error: str
    notification: dict[str, Any] | None
    identity_fields: dict[str, Any] | None
    fingerprint: str
    alarm: Alarm | None
    other_occurrences: list[Alarm]

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivery": self.delivery.pk,
            "status": self.delivery.status,
            "error": self.error,
            "notification": self.notification,
            "fingerprint": self.fingerprint,
            "identity_fields": self.identity_fields,
            "alarm": self.alarm.pk if self.alarm else None,
            "other_occurrences_of_identity": [
                {
                    "alarm": a.pk,
                    "first_occurred_at": a.first_occurred_at.isoformat(),
                    "status": a.status,
                }
                for a in self.other_occurrences
            ],
        }


def touched_alarms(delivery: Delivery) -> QuerySet[Alarm]:
    """The alarms a delivery was applied to, from their timelines."""
    return Alarm.objects.filter(
        events__delivery=delivery, events__type__in=NOTIFICATION_EVENT_TYPES
    ).distinct()


def explain_delivery(delivery: Delivery) -> Explanation:
    """Re-parse a delivery (read-only) and show which alarm its identity leads to."""
    if delivery.status == "duplicate":
        original = delivery.duplicate_of
        original_label = f"#{original.pk}" if original else "(pruned)"
        return Explanation(
            delivery=delivery,
            error=f"byte-identical re-send of delivery {original_label}; ignored",
            notification=None,
            identity_fields=None,
            fingerprint="",
            alarm=touched_alarms(original).first() if original else None,
            other_occurrences=[],
        )
    try:
        # A body with several notifications (an Alertmanager group) is explained by its first.
        notification = parse_delivery(delivery, delivery.endpoint)[0]
    except (BadPayload, NotAnAlarm) as exc:
        return Explanation(delivery, str(exc), None, None, "", None, [])
    fingerprint = notification.fingerprint(delivery.endpoint_id)
    same_identity = list(
        Alarm.objects.filter(fingerprint=fingerprint).order_by("-first_occurred_at")[:20]
    )
    alarm = next(
        (a for a in same_identity if a.first_occurred_at == notification.first_occurred_at), None
    )
    return Explanation(
        delivery=delivery,
        error="",
        notification=_jsonable(dataclasses.asdict(notification)),
        identity_fields={"endpoint": delivery.endpoint_id, **notification.identity_fields()},
        fingerprint=fingerprint,
        alarm=alarm,
        other_occurrences=[a for a in same_identity if a is not alarm],
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
