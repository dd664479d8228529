"""The alarm lifecycle: pairing notifications into alarms (DESIGN §3).

``apply_notifications`` applies a batch of notifications — one delivery's or a worker's whole
batch of deliveries — in one transaction: it locks every identity the batch touches, loads the
alarms the rules read, applies each notification in memory exactly as if they came one by one,
and writes the outcome with a few set-based statements (``lifecycle_store``). Work is
serialised per alarm identity, so concurrent workers and any arrival order give one result.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..choices import AlarmStatus, EventType
from ..models import Alarm, AlarmEvent, CallbackEndpoint, Delivery, Instance, Policy
from ..sources.base import Notification
from . import lifecycle_store as store
from .outbox import Announcement, Route, route, write_messages
from .search_text import SearchNames, alarm_search_text


@dataclass(frozen=True)
class ApplyResult:
    alarm: Alarm
    created: bool
    applied: bool  # False when this delivery had already been applied (a rerun)


@dataclass(frozen=True)
class Application:
    """One notification to apply, with where it came from."""

    endpoint: CallbackEndpoint
    notification: Notification
    delivery: Delivery | None = None


def _policy_key(endpoint: CallbackEndpoint, n: Notification) -> store.PolicyKey | None:
    if not (n.policy_id or n.policy_name):
        return None
    return endpoint.pk, store.fit(Policy, {"key": n.policy_id or f"name:{n.policy_name}"})["key"]


def _policy_fields(n: Notification) -> dict[str, Any]:
    return store.fit(
        Policy,
        {
            "policy_id": n.policy_id,
            "name": n.policy_name,
            "policy_type": n.policy_type,
            "type_cname": n.policy_type_cname,
            "type_ename": n.policy_type_ename,
        },
    )


def _instance_key(endpoint: CallbackEndpoint, n: Notification) -> store.InstanceKey | None:
    if not n.instance_id:
        return None
    fitted = store.fit(
        Instance, {"namespace": n.namespace, "region": n.region, "instance_id": n.instance_id}
    )
    return endpoint.pk, fitted["namespace"], fitted["region"], fitted["instance_id"]


def _sent_at(n: Notification) -> datetime:
    """Tencent's time for this push: the recovery, else the first occurrence plus the duration."""
    if n.recovered_at is not None:
        return n.recovered_at
    try:
        return n.first_occurred_at + timedelta(seconds=n.duration_seconds or 0)
    except OverflowError:  # a corrupt duration beyond the year 9999 must not cost the alarm
        return n.first_occurred_at


def _snapshot(n: Notification) -> dict[str, Any]:
    """Alarm fields taken from the highest-ranked notification applied so far."""
    last_notified = _sent_at(n)
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


def search_text_of(alarm: Alarm) -> str:
    """The full-format search text of an alarm as it stands (its policy and instance loaded)."""
    policy, instance = alarm.policy, alarm.instance
    return alarm_search_text(
        metric_display_name=alarm.metric_display_name,
        event_display_name=alarm.event_display_name,
        namespace=alarm.namespace,
        region=alarm.region,
        dimensions=alarm.dimensions or {},
        names=SearchNames(
            metric_name=alarm.metric_name,
            event_name=alarm.event_name,
            policy_name=policy.name if policy else "",
            policy_id=policy.policy_id if policy else "",
            instance_id=instance.instance_id if instance else "",
            instance_name=instance.name if instance else "",
        ),
    )


def apply_notification(
    *, endpoint: CallbackEndpoint, notification: Notification, delivery: Delivery | None = None
) -> ApplyResult:
    """Apply one notification to its alarm, creating the alarm when needed (DESIGN §3).

    Idempotent per delivery: applying the same delivery again changes nothing.
    """
    return apply_notifications([Application(endpoint, notification, delivery)])[0]


@transaction.atomic
def apply_notifications(applications: Sequence[Application]) -> list[ApplyResult]:
    """Apply notifications in the given order, in one transaction; one result each.

    The outcome is the one applying them one by one would give — and, by the pairing rules, the
    one any other order would give.
    """
    return _Batch(applications).run()


@dataclass
class _Batch:
    applications: Sequence[Application]
    window: timedelta = field(
        default_factory=lambda: timedelta(seconds=settings.ALARMHUB_FLAPPING_WINDOW_SECONDS)
    )
    threshold: int = field(default_factory=lambda: settings.ALARMHUB_FLAPPING_EPISODES)
    # Every alarm the rules may read, by identity and first occurrence (loaded or new).
    occurrences: dict[str, dict[datetime, Alarm]] = field(default_factory=dict)
    latest: dict[str, datetime] = field(default_factory=dict)
    applied: dict[store.AppliedKey, Alarm] = field(default_factory=dict)
    created: list[Alarm] = field(default_factory=list)
    changed: dict[int, Alarm] = field(default_factory=dict)  # existing alarms, by pk
    events: list[AlarmEvent] = field(default_factory=list)
    announcements: list[Announcement] = field(default_factory=list)
    announced_after: list[int] = field(default_factory=list)  # len(events) at each announcement
    # SUPERSEDED events name the newer alarm, whose id exists only once it is inserted.
    superseded_by: list[tuple[AlarmEvent, Alarm]] = field(default_factory=list)

    def run(self) -> list[ApplyResult]:
        fingerprints = [a.notification.fingerprint(a.endpoint.pk) for a in self.applications]
        store.lock_identities(fingerprints)
        self.applied = store.applied_notifications(
            [a.delivery.pk for a in self.applications if a.delivery is not None]
        )
        todo = [
            (app, fp)
            for app, fp in zip(self.applications, fingerprints, strict=True)
            if self._applied_key(app, fp) not in self.applied
        ]
        policies, instances = self._save_catalogue([app for app, _ in todo])
        windows: dict[str, store.IdentityWindow] = {}
        for app, fp in todo:
            at = app.notification.first_occurred_at
            window = windows.setdefault(fp, store.IdentityWindow(at, at))
            window.earliest, window.latest = min(window.earliest, at), max(window.latest, at)
        for alarm in store.locked_alarms(windows, reach=self.window):
            self.occurrences.setdefault(alarm.fingerprint, {})[alarm.first_occurred_at] = alarm
        self.latest = store.latest_occurrences(list(windows))

        results = []
        for app, fp in zip(self.applications, fingerprints, strict=True):
            n = app.notification
            policy_key, instance_key = _policy_key(app.endpoint, n), _instance_key(app.endpoint, n)
            results.append(
                self._apply(
                    app,
                    fp,
                    policy=policies.get(policy_key) if policy_key else None,
                    instance=instances.get(instance_key) if instance_key else None,
                )
            )
        now = timezone.now()
        store.save_alarms(self.created, list(self.changed.values()), now=now)
        for event, newer in self.superseded_by:
            event.details["by_alarm"] = newer.pk
        routes = route(self.announcements, now=now)
        store.save_events(self._with_silenced_entries(routes))
        write_messages(routes, now=now)
        return results

    def _with_silenced_entries(self, routes: list[Route]) -> list[AlarmEvent]:
        """The events, each SILENCED entry right after those of the notification it mutes: the
        timeline one delivery at a time writes."""
        muted = {id(r.announcement): r.silenced_event for r in routes if r.silenced_event}
        events: list[AlarmEvent] = []
        start = 0
        for announcement, end in zip(self.announcements, self.announced_after, strict=True):
            events += self.events[start:end]
            start = end
            if (silenced := muted.get(id(announcement))) is not None:
                events.append(silenced)
        return events + self.events[start:]

    @staticmethod
    def _applied_key(app: Application, fingerprint: str) -> store.AppliedKey | None:
        if app.delivery is None:
            return None
        return app.delivery.pk, fingerprint, app.notification.first_occurred_at

    def _save_catalogue(
        self, applications: Sequence[Application]
    ) -> tuple[dict[store.PolicyKey, Policy], dict[store.InstanceKey, Instance]]:
        changes = store.CatalogueChanges()
        for app in applications:
            n = app.notification
            if (policy_key := _policy_key(app.endpoint, n)) is not None:
                changes.policy(policy_key, _policy_fields(n))
            if (instance_key := _instance_key(app.endpoint, n)) is not None:
                name = store.fit(Instance, {"name": n.instance_name})["name"]
                changes.instance(instance_key, name, n.dimensions)
        return store.save_catalogue(changes)

    def _touch(self, alarm: Alarm) -> None:
        if alarm.pk is not None:
            self.changed[alarm.pk] = alarm

    def _record(
        self, alarm: Alarm, type_: str, delivery: Delivery | None, **details: Any
    ) -> AlarmEvent:
        event = AlarmEvent(alarm=alarm, type=type_, delivery=delivery, details=details)
        self.events.append(event)
        return event

    def _apply(
        self,
        app: Application,
        fingerprint: str,
        *,
        policy: Policy | None,
        instance: Instance | None,
    ) -> ApplyResult:
        n, delivery = app.notification, app.delivery
        applied_key = self._applied_key(app, fingerprint)
        if applied_key is not None and applied_key in self.applied:
            return ApplyResult(alarm=self.applied[applied_key], created=False, applied=False)

        occurrences = self.occurrences.setdefault(fingerprint, {})
        alarm = occurrences.get(n.first_occurred_at)
        created = alarm is None
        if alarm is None:
            alarm = Alarm(
                endpoint=app.endpoint,
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
            store.fit_row(alarm)
            occurrences[n.first_occurred_at] = alarm
            self.created.append(alarm)
        else:
            self._touch(alarm)
        if applied_key is not None:
            self.applied[applied_key] = alarm

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

        latest = self.latest.get(fingerprint)
        newer_exists = (
            created
            and alarm.status == AlarmStatus.FIRING
            and latest is not None
            and latest > n.first_occurred_at
        )
        if latest is None or n.first_occurred_at > latest:
            self.latest[fingerprint] = n.first_occurred_at
        if newer_exists:
            alarm.status = AlarmStatus.RECOVERED
            alarm.superseded = True

        if n.rank() > alarm.snapshot_rank:
            for key, value in _snapshot(n).items():
                setattr(alarm, key, value)
        alarm.policy = policy or alarm.policy
        alarm.instance = instance or alarm.instance
        # Free-text search reads this one column (selectors.search_alarms): the snapshot and the
        # policy's and instance's names as this notification gives them.
        alarm.search_text = search_text_of(alarm)
        alarm.notification_count += 1
        store.fit_row(alarm)

        # Tencent's own time for this push (our occurred_at is when we applied it).
        details: dict[str, Any] = {
            "session_id": n.session_id,
            "sent_at": _sent_at(n).isoformat(),
        }
        if n.current_value:
            details["value"] = n.current_value
        if n.duration_seconds is not None:
            details["duration_seconds"] = n.duration_seconds
        if event_type != EventType.RECOVERED and was_recovered:
            details["after_recovery"] = True
        if event_type == EventType.RECOVERED and not alarm.trigger_seen:
            details["trigger_not_seen"] = True
        event = self._record(alarm, event_type, delivery, **details)
        if newer_exists:
            self._record(
                alarm, EventType.SUPERSEDED, delivery, reason="a newer occurrence already exists"
            )

        if created:
            self._supersede_older(alarm, occurrences, delivery)
            self._mark_flapping(alarm, occurrences, delivery)
        # Outbound messages commit with the event (the outbox); a late trigger or repeat of an
        # alarm that is already closed, or a second recovery, says nothing new and sends nothing.
        if alarm.status == AlarmStatus.FIRING or (
            event_type == EventType.RECOVERED and not was_recovered
        ):
            # The alarm as it stood at this notification: channel filters read that state.
            self.announcements.append(
                Announcement(alarm=alarm, as_applied=copy.copy(alarm), event=event, kind=event_type)
            )
            self.announced_after.append(len(self.events))
        return ApplyResult(alarm=alarm, created=created, applied=True)

    def _supersede_older(
        self, alarm: Alarm, occurrences: dict[datetime, Alarm], delivery: Delivery | None
    ) -> None:
        """Rule 5: close older occurrences of this identity that are still firing."""
        for at, old in sorted(occurrences.items()):
            if at < alarm.first_occurred_at and old.status == AlarmStatus.FIRING:
                old.status = AlarmStatus.RECOVERED
                old.superseded = True
                old.recovered_at = None
                self._touch(old)
                event = self._record(old, EventType.SUPERSEDED, delivery, by_alarm=None)
                self.superseded_by.append((event, alarm))

    def _mark_flapping(
        self, alarm: Alarm, occurrences: dict[datetime, Alarm], delivery: Delivery | None
    ) -> None:
        """Flag occurrences that close a window holding at least N episodes of this identity.

        Depends only on the set of occurrences, so arrival order does not matter; a new
        occurrence can only add flags, for itself and the occurrences after it in the window.
        """
        window, start = self.window, alarm.first_occurred_at
        times = sorted(at for at in occurrences if start - window < at <= start + window)
        for at in times:
            other = occurrences[at]
            if other.flapping or at < start:
                continue
            episodes = sum(1 for t in times if at - window < t <= at)
            if episodes >= self.threshold:
                other.flapping = True
                self._touch(other)
                self._record(
                    other,
                    EventType.FLAPPING,
                    delivery,
                    episodes=episodes,
                    window_seconds=int(window.total_seconds()),
                )
