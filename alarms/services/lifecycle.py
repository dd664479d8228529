"""The alarm lifecycle: pairing notifications into alarms (DESIGN §3).

``apply_notification`` serialises work per alarm identity so that concurrent workers and any
arrival order give the same result.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction

from ..choices import NOTIFICATION_EVENT_TYPES, AlarmStatus, EventType
from ..models import Alarm, AlarmEvent, CallbackEndpoint, Delivery, Instance, Policy
from ..sources.base import Notification
from .outbox import queue_messages
from .search_text import alarm_search_text


@dataclass(frozen=True)
class ApplyResult:
    alarm: Alarm
    created: bool
    applied: bool  # False when this delivery had already been applied (a rerun)


def _lock_identity(fingerprint: str) -> None:
    """Serialise all work on one alarm identity until the transaction ends.

    Two workers handling different occurrences of one fingerprint must see each other's
    rows, or an older occurrence could stay firing beside a newer one (rule 5). PostgreSQL
    gets a transaction-scoped advisory lock; SQLite already serialises writers.
    """
    if connection.vendor == "postgresql":
        key = zlib.crc32(fingerprint.encode()) - 2**31  # signed 32-bit fits bigint
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x41484231, key])


def _fit(model: type[Any], values: dict[str, Any]) -> dict[str, Any]:
    """Clip strings to their column's max_length: PostgreSQL rejects longer ones outright.

    Tencent sends free text (names, units, values) of unbounded length; a 400-character
    instance name must not cost the whole alarm. The full payload stays in the delivery.
    """
    fitted = dict(values)
    for name, value in values.items():
        limit = getattr(model._meta.get_field(name), "max_length", None)
        if isinstance(value, str) and limit and len(value) > limit:
            fitted[name] = value[:limit]
    return fitted


def _fit_instance(obj: Any) -> None:
    """``_fit`` applied in place to every char column of a model instance."""
    for field in obj._meta.concrete_fields:
        value = getattr(obj, field.attname)
        if isinstance(value, str) and field.max_length and len(value) > field.max_length:
            setattr(obj, field.attname, value[: field.max_length])


def _upsert_policy(endpoint: CallbackEndpoint, n: Notification) -> Policy | None:
    if not (n.policy_id or n.policy_name):
        return None
    key = _fit(Policy, {"key": n.policy_id or f"name:{n.policy_name}"})["key"]
    fields = _fit(
        Policy,
        {
            "policy_id": n.policy_id,
            "name": n.policy_name,
            "policy_type": n.policy_type,
            "type_cname": n.policy_type_cname,
            "type_ename": n.policy_type_ename,
        },
    )
    policy, created = Policy.objects.get_or_create(endpoint=endpoint, key=key, defaults=fields)
    if not created:
        changed = {k: v for k, v in fields.items() if v and getattr(policy, k) != v}
        if changed:
            Policy.objects.filter(pk=policy.pk).update(**changed)
    return policy


def _upsert_instance(endpoint: CallbackEndpoint, n: Notification) -> Instance | None:
    if not n.instance_id:
        return None
    identity = _fit(
        Instance, {"namespace": n.namespace, "region": n.region, "instance_id": n.instance_id}
    )
    name = _fit(Instance, {"name": n.instance_name})["name"]
    instance, created = Instance.objects.get_or_create(
        endpoint=endpoint, **identity, defaults={"name": name, "dimensions": n.dimensions}
    )
    if not created and ((name and instance.name != name) or instance.dimensions != n.dimensions):
        Instance.objects.filter(pk=instance.pk).update(
            name=name or instance.name, dimensions=n.dimensions
        )
    return instance


def _snapshot(n: Notification) -> dict[str, Any]:
    """Alarm fields taken from the highest-ranked notification applied so far."""
    last_notified = n.recovered_at or (
        n.first_occurred_at + timedelta(seconds=n.duration_seconds or 0)
    )
    duration: int | None
    if n.status == "recovered" and n.recovered_at is not None:
        duration = int((n.recovered_at - n.first_occurred_at).total_seconds())
    else:
        duration = n.duration_seconds
    return {
        "snapshot_rank": n.rank(),
        "level": n.level,
        "dimensions": n.dimensions,
        "metric_display_name": n.metric_display_name,
        "operator": n.operator,
        "threshold": n.threshold,
        "unit": n.unit,
        "period_seconds": n.period_seconds,
        "current_value": n.current_value,
        "event_display_name": n.event_display_name,
        "last_notified_at": last_notified,
        "duration_seconds": duration,
        "extras": n.extras,
    }


def _record(alarm: Alarm, type_: str, delivery: Delivery | None, **details: Any) -> AlarmEvent:
    return AlarmEvent.objects.create(alarm=alarm, type=type_, delivery=delivery, details=details)


def _supersede_older(alarm: Alarm, delivery: Delivery | None) -> None:
    """Rule 5: close older occurrences of this identity that are still firing."""
    older = Alarm.objects.select_for_update().filter(
        fingerprint=alarm.fingerprint,
        first_occurred_at__lt=alarm.first_occurred_at,
        status=AlarmStatus.FIRING,
    )
    for old in older:
        old.status = AlarmStatus.RECOVERED
        old.superseded = True
        old.recovered_at = None
        old.save(update_fields=["status", "superseded", "recovered_at", "updated_at"])
        _record(old, EventType.SUPERSEDED, delivery, by_alarm=alarm.pk)


def _mark_flapping(alarm: Alarm, delivery: Delivery | None) -> None:
    """Flag occurrences that close a window holding at least N episodes of this identity.

    Depends only on the set of occurrences, so arrival order does not matter; a new
    occurrence can only add flags, for itself and the occurrences after it in the window.
    """
    window = timedelta(seconds=settings.ALARMHUB_FLAPPING_WINDOW_SECONDS)
    threshold = settings.ALARMHUB_FLAPPING_EPISODES
    times = list(
        Alarm.objects.filter(
            fingerprint=alarm.fingerprint,
            first_occurred_at__gt=alarm.first_occurred_at - window,
            first_occurred_at__lte=alarm.first_occurred_at + window,
        ).values_list("pk", "first_occurred_at", "flapping")
    )
    for pk, at, flapping in times:
        if flapping or at < alarm.first_occurred_at:
            continue
        episodes = sum(1 for _, other, _ in times if at - window < other <= at)
        if episodes >= threshold:
            Alarm.objects.filter(pk=pk).update(flapping=True)
            if pk == alarm.pk:
                alarm.flapping = True
            target = alarm if pk == alarm.pk else Alarm(pk=pk)
            _record(
                target,
                EventType.FLAPPING,
                delivery,
                episodes=episodes,
                window_seconds=int(window.total_seconds()),
            )


@transaction.atomic
def apply_notification(
    *, endpoint: CallbackEndpoint, notification: Notification, delivery: Delivery | None = None
) -> ApplyResult:
    """Apply one notification to its alarm, creating the alarm when needed (DESIGN §3).

    Idempotent per delivery: applying the same delivery again changes nothing.
    """
    n = notification
    fingerprint = n.fingerprint(endpoint.pk)
    _lock_identity(fingerprint)

    if delivery is not None:
        # Per lifecycle, not per delivery: one body may carry notifications of several alarms.
        done = (
            AlarmEvent.objects.filter(
                delivery=delivery,
                type__in=NOTIFICATION_EVENT_TYPES,
                alarm__fingerprint=fingerprint,
                alarm__first_occurred_at=n.first_occurred_at,
            )
            .select_related("alarm")
            .first()
        )
        if done is not None:
            return ApplyResult(alarm=done.alarm, created=False, applied=False)

    policy = _upsert_policy(endpoint, n)
    instance = _upsert_instance(endpoint, n)

    alarm = (
        Alarm.objects.select_for_update()
        .filter(fingerprint=fingerprint, first_occurred_at=n.first_occurred_at)
        .first()
    )
    created = alarm is None
    if alarm is None:
        alarm = Alarm(
            endpoint=endpoint,
            fingerprint=fingerprint,
            first_occurred_at=n.first_occurred_at,
            kind=n.kind,
            status=AlarmStatus.FIRING,
            namespace=n.namespace,
            region=n.region,
            metric_name=n.metric_name,
            event_name=n.event_name,
            policy=policy,
            instance=instance,
        )
        _fit_instance(alarm)
        try:
            with transaction.atomic():
                alarm.save()
        except IntegrityError:
            # Only possible without the advisory lock (SQLite with another writer).
            alarm = Alarm.objects.select_for_update().get(
                fingerprint=fingerprint, first_occurred_at=n.first_occurred_at
            )
            created = False

    was_recovered = alarm.status == AlarmStatus.RECOVERED and not alarm.superseded
    if n.status == "recovered":
        event_type = EventType.RECOVERED
        alarm.status = AlarmStatus.RECOVERED
        alarm.superseded = False  # a real recovery replaces "closed as superseded"
        # Should one lifecycle get several recoveries, the latest time wins whatever the
        # arrival order (rule 4); a recovery without a time never erases a known one.
        if n.recovered_at is not None and (
            alarm.recovered_at is None or n.recovered_at > alarm.recovered_at
        ):
            alarm.recovered_at = n.recovered_at
    else:
        event_type = EventType.REPEATED if alarm.trigger_seen else EventType.TRIGGERED
        alarm.trigger_seen = True
        # Rule 4: a trigger or repeat after the recovery never reopens the alarm.

    newer_exists = (
        created
        and alarm.status == AlarmStatus.FIRING
        and Alarm.objects.filter(
            fingerprint=fingerprint, first_occurred_at__gt=n.first_occurred_at
        ).exists()
    )
    if newer_exists:
        alarm.status = AlarmStatus.RECOVERED
        alarm.superseded = True

    if n.rank() > alarm.snapshot_rank:
        for key, value in _snapshot(n).items():
            setattr(alarm, key, value)
        # Free-text search reads this column (selectors.search_alarms): kept with the snapshot.
        alarm.search_text = alarm_search_text(
            metric_display_name=alarm.metric_display_name,
            event_display_name=alarm.event_display_name,
            namespace=alarm.namespace,
            region=alarm.region,
            dimensions=alarm.dimensions or {},
        )
    alarm.policy = policy or alarm.policy
    alarm.instance = instance or alarm.instance
    # A plain increment is safe: the identity lock (and the row lock) are held.
    alarm.notification_count += 1
    _fit_instance(alarm)
    alarm.save()

    # Tencent's own time for this push (our occurred_at is when we applied it).
    details: dict[str, Any] = {
        "session_id": n.session_id,
        "sent_at": _snapshot(n)["last_notified_at"].isoformat(),
    }
    if n.current_value:
        details["value"] = n.current_value
    if n.duration_seconds is not None:
        details["duration_seconds"] = n.duration_seconds
    if event_type != EventType.RECOVERED and was_recovered:
        details["after_recovery"] = True
    if event_type == EventType.RECOVERED and not alarm.trigger_seen:
        details["trigger_not_seen"] = True
    event = _record(alarm, event_type, delivery, **details)
    if newer_exists:
        _record(alarm, EventType.SUPERSEDED, delivery, reason="a newer occurrence already exists")

    if created:
        _supersede_older(alarm, delivery)
        _mark_flapping(alarm, delivery)
    # Outbound messages commit with the event (the outbox); a late trigger or repeat of an
    # alarm that is already closed, or a second recovery, says nothing new and sends nothing.
    if alarm.status == AlarmStatus.FIRING or (
        event_type == EventType.RECOVERED and not was_recovered
    ):
        queue_messages(alarm=alarm, alarm_event=event, event=event_type)
    return ApplyResult(alarm=alarm, created=created, applied=True)
