"""An alarm's timeline and notes, for its page in the admin and in the console."""

from __future__ import annotations

from dataclasses import dataclass

from ..models import Alarm, AlarmEvent, Note

# How many timeline entries and notes a page shows; the rest are a link away. Read at call
# time, so a test may lower it.
TIMELINE_LIMIT = 200


@dataclass(frozen=True)
class AlarmTimeline:
    """The latest events and notes, oldest first.

    Each event carries ``note`` (the Note an "annotated" event refers to, when it is among the
    notes read) and ``detail_items`` (its details as sorted (key, value) pairs, without note_id).
    """

    events: list[AlarmEvent]
    events_truncated: bool
    notes: list[Note]
    notes_truncated: bool


def alarm_timeline(alarm: Alarm, *, limit: int | None = None) -> AlarmTimeline:
    """The latest ``limit`` events and notes of ``alarm``: two queries, whatever their number.

    Each list is read newest first with one extra row, which tells whether older ones exist,
    then turned oldest first for reading top to bottom.
    """
    limit = TIMELINE_LIMIT if limit is None else limit
    events = list(alarm.events.select_related("actor").order_by("-occurred_at", "-id")[: limit + 1])
    notes = list(alarm.notes.select_related("author").order_by("-created_at", "-id")[: limit + 1])
    notes_by_id = {note.pk: note for note in notes}
    for event in events:
        details = event.details if isinstance(event.details, dict) else {}
        note_id = details.get("note_id")
        note = notes_by_id.get(note_id) if note_id is not None else None
        # Both are attributes for the templates only: AlarmEvent declares neither.
        event.note = note  # type: ignore[attr-defined]
        event.detail_items = sorted(  # type: ignore[attr-defined]
            (key, value) for key, value in details.items() if key != "note_id"
        )
    return AlarmTimeline(
        events=list(reversed(events[:limit])),
        events_truncated=len(events) > limit,
        notes=list(reversed(notes[:limit])),
        notes_truncated=len(notes) > limit,
    )
