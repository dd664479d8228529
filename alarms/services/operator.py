"""What operators do to alarms: acknowledge, unacknowledge, annotate (one at a time or in bulk)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..choices import EventType
from ..models import Alarm, AlarmEvent, Note
from ..permissions import check_can_acknowledge, check_can_annotate
from .audit import AuditAction, listed_ids, record
from .outbox import queue_messages

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    from ..permissions import Actor


def _actor_or_none(actor: Actor | None) -> User | None:
    # `is_authenticated` is Literal[True] on users and Literal[False] on AnonymousUser: it narrows.
    return actor if actor is not None and actor.is_authenticated else None


def _log_change(user: User | None, alarm: Alarm, message: list[dict[str, object]]) -> None:
    # The admin's History and "Recent actions" read LogEntry: a user's console actions show
    # there too (issue 10). The admin's own structured message, so it is translated on display.
    if user is not None:
        LogEntry.objects.log_actions(user.pk, [alarm], CHANGE, change_message=message)


@transaction.atomic
def acknowledge_alarm(*, alarm: Alarm, actor: Actor | None, note: str = "") -> Alarm:
    """Acknowledge an alarm (idempotent: acknowledging twice keeps the first acknowledgement)."""
    check_can_acknowledge(actor)
    user = _actor_or_none(actor)
    locked = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if locked.acknowledged_at is None:
        locked.acknowledged_at = timezone.now()
        locked.acknowledged_by = user
        fields = ["acknowledged_at", "acknowledged_by", "updated_at"]
        if locked.first_acknowledged_at is None:
            locked.first_acknowledged_at = locked.acknowledged_at
            fields.append("first_acknowledged_at")
        locked.save(update_fields=fields)
        event = AlarmEvent.objects.create(alarm=locked, type=EventType.ACKNOWLEDGED, actor=user)
        _log_change(user, locked, [{"changed": {"fields": ["acknowledged at", "acknowledged by"]}}])
        # The channels that want acknowledgements hear of it once this commits (the outbox).
        queue_messages(alarm=locked, alarm_event=event, event=EventType.ACKNOWLEDGED)
    if note.strip():
        try:
            add_note(alarm=locked, author=actor, text=note)
        except ValidationError as exc:
            # Named after this function's parameter, so the API's 400 names `note`.
            raise ValidationError({"note": exc.message_dict.get("text", exc.messages)}) from exc
        locked.refresh_from_db(fields=["note_count"])
    return locked


@transaction.atomic
def unacknowledge_alarm(
    *, alarm: Alarm, actor: Actor | None, details: dict[str, object] | None = None
) -> Alarm:
    """Withdraw the acknowledgement; ``details`` go on the UNACKNOWLEDGED event (an expiry
    rule says why AlarmHub itself, actor None, did it)."""
    check_can_acknowledge(actor)
    user = _actor_or_none(actor)
    locked = Alarm.objects.select_for_update().get(pk=alarm.pk)
    if locked.acknowledged_at is not None:
        locked.acknowledged_at = None
        locked.acknowledged_by = None
        locked.save(update_fields=["acknowledged_at", "acknowledged_by", "updated_at"])
        AlarmEvent.objects.create(
            alarm=locked, type=EventType.UNACKNOWLEDGED, actor=user, details=details or {}
        )
        _log_change(user, locked, [{"changed": {"fields": ["acknowledged at", "acknowledged by"]}}])
    return locked


def bulk_acknowledge(
    *, alarm_ids: list[int], actor: Actor | None, remote_addr: str | None = None
) -> int:
    """Acknowledge many alarms; returns how many changed (already-acknowledged ones don't)."""
    check_can_acknowledge(actor)
    changed: list[int] = []
    for alarm in Alarm.objects.filter(pk__in=alarm_ids, acknowledged_at__isnull=True).only("pk"):
        before = alarm.acknowledged_at
        result = acknowledge_alarm(alarm=alarm, actor=actor)
        if before is None and result.acknowledged_at is not None:
            changed.append(alarm.pk)
    _record_bulk(AuditAction.ALARMS_BULK_ACKNOWLEDGED, actor, remote_addr, alarm_ids, changed)
    return len(changed)


def bulk_unacknowledge(
    *, alarm_ids: list[int], actor: Actor | None, remote_addr: str | None = None
) -> int:
    check_can_acknowledge(actor)
    changed: list[int] = []
    for alarm in Alarm.objects.filter(pk__in=alarm_ids, acknowledged_at__isnull=False).only("pk"):
        unacknowledge_alarm(alarm=alarm, actor=actor)
        changed.append(alarm.pk)
    _record_bulk(AuditAction.ALARMS_BULK_UNACKNOWLEDGED, actor, remote_addr, alarm_ids, changed)
    return len(changed)


def _record_bulk(
    action: str, actor: Actor | None, remote_addr: str | None, asked: list[int], changed: list[int]
) -> None:
    # One entry per bulk request; each alarm's own timeline already has an event per change.
    record(
        action=action,
        actor=actor,
        remote_addr=remote_addr,
        requested=len(asked),
        changed=len(changed),
        alarm_ids=listed_ids(changed),
    )


MAX_NOTE_LENGTH = 10000


@transaction.atomic
def add_note(*, alarm: Alarm, author: Actor | None, text: str) -> Note:
    check_can_annotate(author)
    text = text.strip()
    if not text:
        raise ValidationError({"text": "A note cannot be empty."})
    if len(text) > MAX_NOTE_LENGTH:
        raise ValidationError({"text": f"A note is at most {MAX_NOTE_LENGTH} characters."})
    user = _actor_or_none(author)
    note = Note.objects.create(alarm=alarm, author=user, text=text)
    Alarm.objects.filter(pk=alarm.pk).update(note_count=F("note_count") + 1)
    AlarmEvent.objects.create(
        alarm=alarm, type=EventType.ANNOTATED, actor=user, details={"note_id": note.pk}
    )
    _log_change(user, alarm, [{"added": {"name": "note", "object": str(note)}}])
    return note
