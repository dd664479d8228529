"""Silences (DESIGN §6): windows that mute outbound messages for matching alarms.

A silence never changes what is recorded; the outbox asks ``silence_in_force`` before it sends
and marks the message muted instead. Writes go through ``create_silence``, ``update_silence``
and ``delete_silence`` (admin, API and console alike).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import Alarm, Silence
from ..notify.matching import alarm_matches, validate_filter
from ..permissions import check_can_manage_silences
from .audit import AuditAction, record

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from ..permissions import Actor

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_RECURRENCE_KEYS = {"weekdays", "start_time", "end_time", "timezone"}


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


# "Leave this field as it is" for update_silence (None is a meaningful recurrence value).
UNSET: Final = _Unset()


def _clock(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def validate_recurrence(recurrence: object) -> dict[str, Any] | None:
    """The recurrence, cleaned (weekdays sorted and unique), or None for a one-off window.

    Raises ``ValidationError`` keyed ``recurrence`` naming what is wrong.
    """
    if recurrence is None:
        return None

    def invalid(message: str) -> ValidationError:
        return ValidationError({"recurrence": [message]}, code="invalid")

    if not isinstance(recurrence, Mapping):
        raise invalid("Give null or an object with weekdays, start_time, end_time, timezone.")
    if set(recurrence) != _RECURRENCE_KEYS:
        missing = sorted(_RECURRENCE_KEYS - set(recurrence))
        unknown = sorted(set(map(str, recurrence)) - _RECURRENCE_KEYS)
        raise invalid(f"Missing keys: {missing}; unknown keys: {unknown}.")
    weekdays = recurrence["weekdays"]
    if (
        not isinstance(weekdays, list)
        or not weekdays
        or not all(type(d) is int and 0 <= d <= 6 for d in weekdays)
    ):
        raise invalid("weekdays: give a non-empty list of 0 (Monday) to 6 (Sunday).")
    for key in ("start_time", "end_time"):
        value = recurrence[key]
        if not isinstance(value, str) or not _HHMM.match(value):
            raise invalid(f"{key}: give a time as HH:MM (00:00 to 23:59).")
    zone = recurrence["timezone"]
    try:
        if not isinstance(zone, str) or not zone:
            raise ValueError(zone)
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
        raise invalid("timezone: give an IANA time zone, e.g. Asia/Shanghai.") from exc
    return {
        "weekdays": sorted(set(weekdays)),
        "start_time": recurrence["start_time"],
        "end_time": recurrence["end_time"],
        "timezone": zone,
    }


def in_force(silence: Silence, now: datetime) -> bool:
    """Is ``silence`` muting at ``now``? Inside [starts_at, ends_at] and, if it recurs, inside
    that day's window in the silence's time zone.

    A daily window is compared in wall-clock time. One that ends at or before its start
    (22:00-06:00) runs past midnight and belongs to the weekday it started on; equal times
    mean a whole day from that time.
    """
    if not silence.starts_at <= now <= silence.ends_at:
        return False
    recurrence = silence.recurrence
    if not recurrence:
        return True
    local = now.astimezone(ZoneInfo(recurrence["timezone"]))
    start, end = _clock(recurrence["start_time"]), _clock(recurrence["end_time"])
    weekdays = set(recurrence["weekdays"])
    clock = local.time().replace(tzinfo=None)
    if start < end:
        return local.weekday() in weekdays and start <= clock < end
    # Past midnight: the evening part today, or the morning part of a window begun yesterday.
    yesterday = (local - timedelta(days=1)).weekday()
    return (local.weekday() in weekdays and clock >= start) or (
        yesterday in weekdays and clock < end
    )


def silences_possibly_in_force(now: datetime) -> QuerySet[Silence]:
    """Silences whose [starts_at, ends_at] contains ``now`` (index silence_ends_idx serves the
    ``ends_at`` bound); their recurrence is checked by ``in_force``."""
    return Silence.objects.filter(ends_at__gte=now, starts_at__lte=now).order_by("starts_at", "id")


def first_in_force(alarm: Alarm, silences: Iterable[Silence], *, now: datetime) -> Silence | None:
    """The first of ``silences`` that is in force at ``now`` and matches ``alarm``."""
    for silence in silences:
        if in_force(silence, now) and alarm_matches(alarm, silence.filter or {}):
            return silence
    return None


def silence_in_force(alarm: Alarm, *, now: datetime) -> Silence | None:
    """The silence muting ``alarm`` at ``now``, if any (one query, then Python)."""
    return first_in_force(alarm, silences_possibly_in_force(now), now=now)


def _user(actor: Actor | None) -> User | None:
    return actor if actor is not None and actor.is_authenticated else None


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    for name, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(value, datetime) or timezone.is_naive(value):
            raise ValidationError({name: ["Give a date and time with a time zone."]})
    if ends_at < starts_at:
        raise ValidationError({"ends_at": ["A silence cannot end before it starts."]})


def _audited(silence: Silence) -> dict[str, Any]:
    """What the audit log keeps of a silence (times as UTC ISO 8601 text: the same instant given
    in another zone is no change)."""
    return {
        "comment": silence.comment,
        "filter": silence.filter,
        "starts_at": silence.starts_at.astimezone(UTC).isoformat(),
        "ends_at": silence.ends_at.astimezone(UTC).isoformat(),
        "recurrence": silence.recurrence,
    }


def _clean_filter(filter: Mapping[str, object] | None) -> dict[str, list[str]]:
    try:
        return validate_filter(filter)
    except ValidationError as exc:
        # Keyed `filter` (the field the caller gave) and naming the offending parameter.
        messages = [f"{name}: {m}" for name, ms in exc.message_dict.items() for m in ms]
        raise ValidationError({"filter": messages}) from exc


@transaction.atomic
def create_silence(
    *,
    actor: Actor | None,
    starts_at: datetime,
    ends_at: datetime,
    filter: Mapping[str, object] | None = None,
    recurrence: object = None,
    comment: str = "",
    remote_addr: str | None = None,
) -> Silence:
    """Create a silence; raises ValidationError naming the field, PermissionDenied.

    ``actor`` and ``remote_addr`` are for the audit log, as for every write here.
    """
    check_can_manage_silences(actor, "add")
    _check_window(starts_at, ends_at)
    silence = Silence.objects.create(
        comment=comment,
        filter=_clean_filter(filter),
        starts_at=starts_at,
        ends_at=ends_at,
        recurrence=validate_recurrence(recurrence),
        created_by=_user(actor),
    )
    record(
        action=AuditAction.SILENCE_CREATED,
        actor=actor,
        target=silence,
        remote_addr=remote_addr,
        **_audited(silence),
    )
    return silence


@transaction.atomic
def update_silence(
    *,
    silence: Silence,
    actor: Actor | None,
    comment: str | _Unset = UNSET,
    filter: Mapping[str, object] | _Unset | None = UNSET,
    starts_at: datetime | _Unset = UNSET,
    ends_at: datetime | _Unset = UNSET,
    recurrence: object = UNSET,
    remote_addr: str | None = None,
) -> Silence:
    """Change the given fields of a silence (the others stay); returns the saved row."""
    check_can_manage_silences(actor, "change")
    locked = Silence.objects.select_for_update().get(pk=silence.pk)
    before = _audited(locked)
    fields: list[str] = []
    if not isinstance(comment, _Unset):
        locked.comment = comment
        fields.append("comment")
    if not isinstance(filter, _Unset):
        locked.filter = _clean_filter(filter)
        fields.append("filter")
    if not isinstance(starts_at, _Unset):
        locked.starts_at = starts_at
        fields.append("starts_at")
    if not isinstance(ends_at, _Unset):
        locked.ends_at = ends_at
        fields.append("ends_at")
    if recurrence is not UNSET:
        locked.recurrence = validate_recurrence(recurrence)
        fields.append("recurrence")
    _check_window(locked.starts_at, locked.ends_at)
    if fields:
        locked.save(update_fields=[*fields, "updated_at"])
    after = _audited(locked)
    # Only what really changed: a form that resubmits every field is not a change of each.
    changes = {name: {"old": before[name], "new": after[name]} for name in fields}
    changes = {name: change for name, change in changes.items() if change["old"] != change["new"]}
    if changes:
        record(
            action=AuditAction.SILENCE_CHANGED,
            actor=actor,
            target=locked,
            remote_addr=remote_addr,
            **changes,
        )
    return locked


@transaction.atomic
def delete_silence(
    *, silence: Silence, actor: Actor | None, remote_addr: str | None = None
) -> None:
    """Delete a silence; messages it muted keep their status (their link becomes empty)."""
    check_can_manage_silences(actor, "delete")
    # The row as stored, not the caller's copy, is what the audit log describes.
    locked = Silence.objects.select_for_update().filter(pk=silence.pk).first()
    if locked is None:  # a concurrent delete got there first: nothing to log
        return
    Silence.objects.filter(pk=locked.pk).delete()
    record(
        action=AuditAction.SILENCE_DELETED,
        actor=actor,
        target=locked,
        remote_addr=remote_addr,
        **_audited(locked),
    )


def silenced_alarm_ids(alarms: Iterable[Alarm], *, now: datetime) -> set[int]:
    """Which of ``alarms`` a silence mutes at ``now``: one query for the silences in force,
    then matching in Python (for a page of alarms: load them with policy and instance)."""
    active = [s for s in silences_possibly_in_force(now) if in_force(s, now)]
    if not active:
        return set()
    return {a.pk for a in alarms if first_in_force(a, active, now=now) is not None}
