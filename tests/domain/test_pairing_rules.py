"""DESIGN §3 pairing rules, one test (or a few) per rule, plus the alarm's counters and actions."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.core.exceptions import PermissionDenied, ValidationError

from alarms import permissions
from alarms.choices import AlarmStatus, DeliveryStatus, EventType
from alarms.models import Alarm, AlarmEvent, Delivery, Note
from alarms.pipeline.process import parse_delivery
from alarms.selectors.deliveries import deliveries_of
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import apply_notification
from alarms.services.operator import (
    MAX_NOTE_LENGTH,
    acknowledge_alarm,
    add_note,
    bulk_acknowledge,
    unacknowledge_alarm,
)
from alarms.sources.base import Notification
from tests.support.factories import (
    DEFAULT_FIRST_OCCURRED_AT,
    encode,
    fixture_bytes,
    make_delivery,
    make_endpoint,
    notification,
    post_callback,
    tencent_payload,
)

pytestmark = pytest.mark.django_db

T0 = DEFAULT_FIRST_OCCURRED_AT


def apply(endpoint: NewEndpoint, n: Notification, *, with_delivery: bool = True) -> Alarm:
    delivery = make_delivery(endpoint.endpoint) if with_delivery else None
    return apply_notification(endpoint=endpoint.endpoint, notification=n, delivery=delivery).alarm


def timeline(alarm: Alarm) -> list[str]:
    return list(alarm.events.order_by("occurred_at", "id").values_list("type", flat=True))


@pytest.fixture
def deliver(client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any) -> Any:
    """POST a body to the endpoint and run the worker, as in production."""

    def post(body: bytes | dict[str, Any], path: str | None = None) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_callback(client, path or endpoint.path, body)
        assert response.status_code == 200, response.content
        return response

    return post


# --- rule 1: sessionId is per push ------------------------------------------------------------


def test_session_id_is_not_an_alarm_key(endpoint: NewEndpoint) -> None:
    trigger = notification(session_id="AAAAAAAAAAAAAAAAAAAAAAAA")
    recovery = notification(
        session_id="BBBBBBBBBBBBBBBBBBBBBBBB", status="recovered", duration_seconds=600
    )
    other = notification(
        session_id="AAAAAAAAAAAAAAAAAAAAAAAA",
        instance_id="ins-other",
        dimensions={"unInstanceId": "ins-other"},
    )

    first = apply(endpoint, trigger)
    second = apply(endpoint, recovery)
    third = apply(endpoint, other)

    assert first.pk == second.pk  # different session ids, one alarm
    assert third.pk != first.pk  # same session id, different alarm
    assert Alarm.objects.count() == 2


# --- rule 2: alarmStatus; repeats keep firstOccurTime -----------------------------------------


def test_repeat_keeps_first_occurrence_and_updates_duration(endpoint: NewEndpoint) -> None:
    apply(endpoint, notification(duration_seconds=0, current_value="95"))
    apply(endpoint, notification(duration_seconds=300, current_value="97.5"))
    alarm = apply(endpoint, notification(duration_seconds=600, current_value="99"))

    alarm.refresh_from_db()
    assert Alarm.objects.count() == 1
    assert alarm.first_occurred_at == T0
    assert alarm.status == AlarmStatus.FIRING
    assert alarm.duration_seconds == 600
    assert alarm.current_value == "99"
    assert alarm.last_notified_at == T0 + timedelta(seconds=600)
    assert alarm.recovered_at is None
    assert alarm.notification_count == 3
    assert timeline(alarm) == ["triggered", "repeated", "repeated"]


@pytest.mark.parametrize(
    ("alarm_status", "expected"),
    [("1", "firing"), (1, "firing"), ("0", "recovered"), (0, "recovered")],
)
def test_alarm_status_one_is_alarming_and_zero_is_recovered_as_string_or_number(
    deliver: Any, alarm_status: Any, expected: str
) -> None:
    recover = "2024-03-01 10:10:00" if expected == "recovered" else "0"

    deliver(tencent_payload(alarmStatus=alarm_status, recover=recover, duration=600))

    alarm = Alarm.objects.get()
    assert alarm.status == expected
    if expected == "recovered":
        assert alarm.recovered_at == datetime(2024, 3, 1, 2, 10, tzinfo=UTC)


# --- rule 3: byte-identical re-sends ----------------------------------------------------------


def test_byte_identical_resend_is_duplicate(deliver: Any) -> None:
    body = encode(tencent_payload(session_id="retry", duration=300))

    deliver(body)
    deliver(body)
    deliver(body)

    alarm = Alarm.objects.get()
    assert alarm.notification_count == 1
    assert timeline(alarm) == ["triggered"]
    assert sorted(Delivery.objects.values_list("status", flat=True)) == [
        "duplicate",
        "duplicate",
        "processed",
    ]


# --- rule 4: any order ------------------------------------------------------------------------


def test_recovery_before_trigger_creates_recovered_alarm_flagged_trigger_not_seen(
    endpoint: NewEndpoint,
) -> None:
    alarm = apply(
        endpoint, notification(status="recovered", duration_seconds=900, current_value="12")
    )

    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RECOVERED
    assert alarm.trigger_seen is False
    assert alarm.superseded is False
    assert alarm.recovered_at == T0 + timedelta(seconds=900)
    assert alarm.duration_seconds == 900
    assert alarm.notification_count == 1
    event = alarm.events.get()
    assert event.type == EventType.RECOVERED
    assert event.details["trigger_not_seen"] is True


def test_trigger_after_recovery_never_reopens(endpoint: NewEndpoint) -> None:
    recovered_at = T0 + timedelta(seconds=900)
    apply(endpoint, notification(status="recovered", duration_seconds=900, current_value="12"))
    apply(endpoint, notification(duration_seconds=0, current_value="95"))
    alarm = apply(endpoint, notification(duration_seconds=300, current_value="97"))

    alarm.refresh_from_db()
    assert alarm.status == AlarmStatus.RECOVERED
    assert alarm.recovered_at == recovered_at
    assert alarm.trigger_seen is True
    assert alarm.notification_count == 3
    # The recovery's snapshot stays: it is the latest thing Tencent said about this alarm.
    assert alarm.current_value == "12"
    assert alarm.duration_seconds == 900
    assert alarm.last_notified_at == recovered_at
    events = list(alarm.events.order_by("id"))
    assert [e.type for e in events] == ["recovered", "triggered", "repeated"]
    assert events[1].details["after_recovery"] is True


def test_trigger_recovery_and_late_repeat_end_like_in_order(endpoint: NewEndpoint) -> None:
    other = make_endpoint(name="in-order")
    sequence = [
        notification(session_id="t", duration_seconds=0, current_value="95"),
        notification(session_id="r1", duration_seconds=300, current_value="97"),
        notification(
            session_id="rec", status="recovered", duration_seconds=900, current_value="10"
        ),
    ]
    for n in sequence:
        apply(other, n)
    for n in [sequence[2], sequence[1], sequence[0]]:
        apply(endpoint, n)

    def state(e: NewEndpoint) -> Mapping[str, Any]:
        return (
            Alarm.objects.filter(endpoint=e.endpoint)
            .values(
                "status",
                "recovered_at",
                "trigger_seen",
                "notification_count",
                "current_value",
                "duration_seconds",
                "last_notified_at",
                "superseded",
            )
            .get()
        )

    assert state(endpoint) == state(other)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_several_recoveries_of_one_alarm_keep_the_latest_time_in_any_order(
    endpoint: NewEndpoint, order: tuple[int, ...]
) -> None:
    recoveries = [
        notification(session_id="early", status="recovered", duration_seconds=600),
        notification(session_id="late", status="recovered", duration_seconds=900),
        # recoverTime "0" and durationTime 0: no time at all; must not erase a known one.
        notification(
            session_id="timeless", status="recovered", duration_seconds=0, recovered_at=None
        ),
    ]
    for index in order:
        alarm = apply(endpoint, recoveries[index])

    alarm.refresh_from_db()
    assert alarm.recovered_at == T0 + timedelta(seconds=900)
    assert alarm.duration_seconds == 900
    assert alarm.last_notified_at == T0 + timedelta(seconds=900)
    assert alarm.notification_count == 3


# --- rule 5: a new firstOccurTime is a new alarm ----------------------------------------------


def test_new_first_occur_time_is_new_alarm_and_supersedes_firing_one(endpoint: NewEndpoint) -> None:
    old = apply(endpoint, notification(first_occurred_at=T0))
    new = apply(endpoint, notification(first_occurred_at=T0 + timedelta(hours=2)))

    old.refresh_from_db()
    new.refresh_from_db()
    assert old.pk != new.pk
    assert old.fingerprint == new.fingerprint
    assert new.status == AlarmStatus.FIRING
    assert new.superseded is False
    assert old.status == AlarmStatus.RECOVERED
    assert old.superseded is True
    assert old.recovered_at is None  # unknown
    superseded = old.events.get(type=EventType.SUPERSEDED)
    assert superseded.details == {"by_alarm": new.pk}
    assert old.notification_count == 1  # superseding is not a notification


def test_older_occurrence_arriving_after_a_newer_one_is_created_superseded(
    endpoint: NewEndpoint,
) -> None:
    new = apply(endpoint, notification(first_occurred_at=T0 + timedelta(hours=2)))
    old = apply(endpoint, notification(first_occurred_at=T0))

    old.refresh_from_db()
    new.refresh_from_db()
    assert new.status == AlarmStatus.FIRING
    assert (old.status, old.superseded, old.recovered_at) == (AlarmStatus.RECOVERED, True, None)
    assert timeline(old) == ["triggered", "superseded"]


def test_recovered_older_occurrence_is_not_superseded(endpoint: NewEndpoint) -> None:
    old = apply(endpoint, notification(first_occurred_at=T0))
    apply(endpoint, notification(first_occurred_at=T0, status="recovered", duration_seconds=60))
    apply(endpoint, notification(first_occurred_at=T0 + timedelta(hours=2)))

    old.refresh_from_db()
    assert old.superseded is False
    assert old.recovered_at == T0 + timedelta(seconds=60)
    assert not old.events.filter(type=EventType.SUPERSEDED).exists()


def test_superseding_is_per_identity(endpoint: NewEndpoint) -> None:
    cpu = apply(endpoint, notification(first_occurred_at=T0))
    apply(
        endpoint,
        notification(first_occurred_at=T0 + timedelta(hours=1), metric_name="mem_usage"),
    )

    cpu.refresh_from_db()
    assert cpu.status == AlarmStatus.FIRING


def test_superseded_alarm_records_real_recovery_time(endpoint: NewEndpoint) -> None:
    old = apply(endpoint, notification(first_occurred_at=T0))
    apply(endpoint, notification(first_occurred_at=T0 + timedelta(hours=2)))
    apply(
        endpoint,
        notification(
            first_occurred_at=T0,
            status="recovered",
            recovered_at=T0 + timedelta(hours=3),
            duration_seconds=3 * 3600,
        ),
    )

    old.refresh_from_db()
    assert old.status == AlarmStatus.RECOVERED
    assert old.recovered_at == T0 + timedelta(hours=3)
    assert old.duration_seconds == 3 * 3600
    # The timeline keeps both facts; the flag follows the real recovery, so the state is the
    # same as when the recovery arrives before the newer occurrence (rule 4).
    assert timeline(old) == ["triggered", "superseded", "recovered"]
    assert old.superseded is False
    assert old.notification_count == 2


# --- rule 6: time zones -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "first_occur", "expected"),
    [
        ("Asia/Shanghai", "2024-07-01 08:00:00", datetime(2024, 7, 1, 0, 0, tzinfo=UTC)),
        ("America/New_York", "2024-07-01 08:00:00", datetime(2024, 7, 1, 12, 0, tzinfo=UTC)),
        ("America/New_York", "2024-01-15 08:00:00", datetime(2024, 1, 15, 13, 0, tzinfo=UTC)),
        ("UTC", "2024-07-01 08:00:00", datetime(2024, 7, 1, 8, 0, tzinfo=UTC)),
        # An explicit offset wins over the endpoint's zone.
        ("America/New_York", "2024-07-01T08:00:00+02:00", datetime(2024, 7, 1, 6, 0, tzinfo=UTC)),
        ("Asia/Shanghai", "2024-07-01 08:00:00Z", datetime(2024, 7, 1, 8, 0, tzinfo=UTC)),
    ],
)
def test_times_without_offset_use_endpoint_timezone(
    client: Any,
    django_capture_on_commit_callbacks: Any,
    zone: str,
    first_occur: str,
    expected: datetime,
) -> None:
    new = make_endpoint(name=f"tz-{zone}", timezone=zone)

    with django_capture_on_commit_callbacks(execute=True):
        post_callback(client, new.path, tencent_payload(first_occur=first_occur))

    alarm = Alarm.objects.get()
    assert alarm.first_occurred_at == expected
    assert alarm.first_occurred_at.utcoffset() == timedelta(0)


def test_recover_time_is_read_in_the_endpoint_timezone_too(deliver: Any) -> None:
    deliver(
        tencent_payload(
            status="0",
            first_occur="2024-03-01 10:00:00",
            recover="2024-03-01 10:45:00",
            duration=2700,
        )
    )

    alarm = Alarm.objects.get()
    assert alarm.first_occurred_at == datetime(2024, 3, 1, 2, 0, tzinfo=UTC)
    assert alarm.recovered_at == datetime(2024, 3, 1, 2, 45, tzinfo=UTC)
    assert alarm.duration_seconds == 2700


# --- rule 7: JSON that is not an alarm --------------------------------------------------------


def test_non_alarm_json_is_kept_as_failed_delivery(deliver: Any) -> None:
    body = fixture_bytes("custom_content_template_body_fixture")

    response = deliver(body)

    assert response.json() == {"sessionId": "", "retCode": 0}
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert bytes(delivery.body or b"") == body  # kept for a re-process after a parser fix
    assert delivery.error.startswith("not a Tencent alarm: missing")
    assert delivery.processed_at is not None
    assert not Alarm.objects.exists()


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (tencent_payload(alarmStatus="2"), "alarmStatus"),
        (tencent_payload(first_occur="yesterday"), "firstOccurTime"),
        (tencent_payload(alarmType="log"), "alarmType"),
        (tencent_payload(alarmObjInfo="gz"), "alarmObjInfo"),
    ],
    ids=["bad-status", "bad-time", "bad-type", "bad-object"],
)
def test_alarm_shaped_json_with_unusable_core_fields_is_a_failed_delivery(
    deliver: Any, payload: dict[str, Any], fragment: str
) -> None:
    deliver(payload)

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert fragment in delivery.error
    assert not Alarm.objects.exists()


# --- notification_count -----------------------------------------------------------------------


def test_notification_count_counts_trigger_repeats_and_recovery(deliver: Any) -> None:
    deliver(tencent_payload(duration=0))
    deliver(tencent_payload(duration=300))
    deliver(tencent_payload(duration=600))
    deliver(tencent_payload(status="0", duration=900, recover="2024-03-01 10:15:00"))

    alarm = Alarm.objects.get()
    assert alarm.notification_count == 4
    assert timeline(alarm) == ["triggered", "repeated", "repeated", "recovered"]
    assert alarm.notification_count == deliveries_of(alarm.pk).count()


def test_notification_count_ignores_duplicates_and_reruns(
    deliver: Any, endpoint: NewEndpoint
) -> None:
    body = encode(tencent_payload(duration=0))
    deliver(body)
    deliver(body)  # Tencent retry
    delivery = Delivery.objects.get(status=DeliveryStatus.PROCESSED)
    # A rerun of the delivery (a redelivered task, a reprocess) applies what it parses to again.
    [n] = parse_delivery(delivery, endpoint.endpoint)
    apply_notification(endpoint=endpoint.endpoint, notification=n, delivery=delivery)

    assert Alarm.objects.get().notification_count == 1


# --- idempotency per delivery -----------------------------------------------------------------


def test_applying_the_same_delivery_twice_changes_nothing(endpoint: NewEndpoint) -> None:
    delivery = make_delivery(endpoint.endpoint)
    n = notification(duration_seconds=300)
    first = apply_notification(endpoint=endpoint.endpoint, notification=n, delivery=delivery)
    before = Alarm.objects.values().get()
    events_before = list(AlarmEvent.objects.values_list("pk", flat=True))

    second = apply_notification(endpoint=endpoint.endpoint, notification=n, delivery=delivery)

    assert (first.created, first.applied) == (True, True)
    assert (second.created, second.applied) == (False, False)
    assert second.alarm.pk == first.alarm.pk
    assert Alarm.objects.values().get() == before
    assert list(AlarmEvent.objects.values_list("pk", flat=True)) == events_before


def test_rerunning_the_task_for_a_processed_delivery_is_a_no_op(deliver: Any) -> None:
    from alarms.tasks import process_delivery

    deliver(tencent_payload())
    delivery = Delivery.objects.get()

    assert process_delivery.apply(args=[delivery.pk]).get() == "skipped"
    assert Alarm.objects.get().notification_count == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 1


# --- flapping ---------------------------------------------------------------------------------


def _episode(endpoint: NewEndpoint, start: datetime, minutes: int = 5) -> None:
    apply(endpoint, notification(first_occurred_at=start))
    apply(
        endpoint,
        notification(first_occurred_at=start, status="recovered", duration_seconds=minutes * 60),
    )


def test_alarm_that_keeps_coming_back_within_the_window_is_flagged_flapping(
    endpoint: NewEndpoint, settings: Any
) -> None:
    settings.ALARMHUB_FLAPPING_EPISODES = 3
    settings.ALARMHUB_FLAPPING_WINDOW_SECONDS = 3600
    for minute in (0, 15, 30, 45):
        _episode(endpoint, T0 + timedelta(minutes=minute))

    flags = list(Alarm.objects.order_by("first_occurred_at").values_list("flapping", flat=True))
    assert flags == [False, False, True, True]
    third = Alarm.objects.order_by("first_occurred_at")[2]
    event = third.events.get(type=EventType.FLAPPING)
    assert event.details == {"episodes": 3, "window_seconds": 3600}


def test_episodes_spread_wider_than_the_window_are_not_flapping(
    endpoint: NewEndpoint, settings: Any
) -> None:
    settings.ALARMHUB_FLAPPING_EPISODES = 3
    settings.ALARMHUB_FLAPPING_WINDOW_SECONDS = 3600
    for minute in (0, 40, 80, 120):
        _episode(endpoint, T0 + timedelta(minutes=minute))

    assert not Alarm.objects.filter(flapping=True).exists()
    assert not AlarmEvent.objects.filter(type=EventType.FLAPPING).exists()


def test_flapping_does_not_depend_on_arrival_order(endpoint: NewEndpoint, settings: Any) -> None:
    settings.ALARMHUB_FLAPPING_EPISODES = 3
    settings.ALARMHUB_FLAPPING_WINDOW_SECONDS = 3600
    backwards = make_endpoint(name="backwards")
    starts = [T0 + timedelta(minutes=m) for m in (0, 15, 30, 45, 200)]
    for start in starts:
        _episode(endpoint, start)
    for start in reversed(starts):
        _episode(backwards, start)

    def flags(e: NewEndpoint) -> list[bool]:
        return list(
            Alarm.objects.filter(endpoint=e.endpoint)
            .order_by("first_occurred_at")
            .values_list("flapping", flat=True)
        )

    assert flags(endpoint) == flags(backwards) == [False, False, True, True, False]


# --- operator actions -------------------------------------------------------------------------


def _user(username: str, role: str | None) -> User:
    user = User.objects.create_user(username=username, password=None)
    if role:
        user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)  # fresh permission cache


@pytest.fixture
def alarm(endpoint: NewEndpoint) -> Alarm:
    return apply(endpoint, notification())


def test_acknowledge_records_who_and_when_and_is_idempotent(alarm: Alarm) -> None:
    alice = _user("alice", permissions.OPERATOR)
    bob = _user("bob", permissions.OPERATOR)

    acknowledge_alarm(alarm=alarm, actor=alice)
    again = acknowledge_alarm(alarm=alarm, actor=bob)

    assert again.acknowledged_by == alice
    assert again.acknowledged_at is not None
    assert again.status == AlarmStatus.FIRING  # acknowledgement is orthogonal to status
    event = alarm.events.get(type=EventType.ACKNOWLEDGED)
    assert event.actor == alice


def test_acknowledge_with_a_note_adds_the_note(alarm: Alarm) -> None:
    alice = _user("alice", permissions.OPERATOR)

    result = acknowledge_alarm(alarm=alarm, actor=alice, note="  looking into it ")

    assert result.note_count == 1
    note = Note.objects.get()
    assert (note.author, note.text) == (alice, "looking into it")
    assert timeline(alarm)[-2:] == ["acknowledged", "annotated"]


def test_unacknowledge_clears_the_acknowledgement_and_records_the_actor(alarm: Alarm) -> None:
    alice = _user("alice", permissions.OPERATOR)
    bob = _user("bob", permissions.OPERATOR)
    acknowledge_alarm(alarm=alarm, actor=alice)

    result = unacknowledge_alarm(alarm=alarm, actor=bob)
    unacknowledge_alarm(alarm=alarm, actor=bob)  # no-op

    assert (result.acknowledged_by, result.acknowledged_at) == (None, None)
    events = list(alarm.events.filter(type=EventType.UNACKNOWLEDGED))
    assert [e.actor for e in events] == [bob]


def test_add_note_stores_author_and_counts_and_logs_it(alarm: Alarm) -> None:
    alice = _user("alice", permissions.OPERATOR)

    note = add_note(alarm=alarm, author=alice, text="disk cleaned up")

    alarm.refresh_from_db()
    assert alarm.note_count == 1
    assert (note.author, note.text) == (alice, "disk cleaned up")
    event = alarm.events.get(type=EventType.ANNOTATED)
    assert event.actor == alice
    assert event.details == {"note_id": note.pk}


@pytest.mark.parametrize("text", ["", "   \n", "x" * (MAX_NOTE_LENGTH + 1)])
def test_add_note_rejects_empty_or_oversized_text(alarm: Alarm, text: str) -> None:
    with pytest.raises(ValidationError):
        add_note(alarm=alarm, author=_user("alice", permissions.OPERATOR), text=text)

    assert not Note.objects.exists()


@pytest.mark.parametrize("role", [permissions.VIEWER, None])
def test_users_without_the_permission_cannot_acknowledge_or_annotate(
    alarm: Alarm, role: str | None
) -> None:
    viewer = _user("victor", role)

    with pytest.raises(PermissionDenied):
        acknowledge_alarm(alarm=alarm, actor=viewer)
    with pytest.raises(PermissionDenied):
        unacknowledge_alarm(alarm=alarm, actor=viewer)
    with pytest.raises(PermissionDenied):
        add_note(alarm=alarm, author=viewer, text="hi")
    with pytest.raises(PermissionDenied):
        bulk_acknowledge(alarm_ids=[alarm.pk], actor=viewer)

    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None
    assert alarm.note_count == 0
    assert timeline(alarm) == ["triggered"]


def test_system_actions_have_no_actor(alarm: Alarm) -> None:
    acknowledge_alarm(alarm=alarm, actor=None)

    event = alarm.events.get(type=EventType.ACKNOWLEDGED)
    assert event.actor is None


def test_bulk_acknowledge_counts_only_alarms_it_changed(endpoint: NewEndpoint) -> None:
    alice = _user("alice", permissions.OPERATOR)
    first = apply(endpoint, notification(instance_id="ins-1", dimensions={"unInstanceId": "ins-1"}))
    second = apply(
        endpoint, notification(instance_id="ins-2", dimensions={"unInstanceId": "ins-2"})
    )
    acknowledge_alarm(alarm=first, actor=alice)

    changed = bulk_acknowledge(alarm_ids=[first.pk, second.pk, 999999], actor=alice)

    assert changed == 1
    assert Alarm.objects.filter(acknowledged_at__isnull=False).count() == 2


# --- the real trigger/repeat/recovery pair ----------------------------------------------------


def test_real_trigger_repeat_and_recovery_pair_into_one_alarm_with_duration_and_recovery_time(
    deliver: Any,
) -> None:
    deliver(fixture_bytes("metric_cvm_disk_usage_trigger_repeat_real"))
    deliver(fixture_bytes("metric_cvm_disk_usage_recovery_real"))

    alarm = Alarm.objects.get()
    assert alarm.status == AlarmStatus.RECOVERED
    assert alarm.first_occurred_at == datetime(2021, 5, 4, 20, 37, tzinfo=UTC)
    assert alarm.recovered_at == datetime(2021, 5, 6, 0, 46, tzinfo=UTC)
    assert alarm.duration_seconds == 101340
    assert alarm.notification_count == 2
    assert alarm.trigger_seen is True
    assert alarm.superseded is False
    assert alarm.current_value == "26.14"
    assert alarm.threshold == "95"
    assert alarm.metric_name == "disk_usage"
    assert alarm.instance.instance_id == "ins-4ap7abk6"
    assert alarm.instance.name == "Unnamed1"
    assert alarm.policy.policy_id == "policy-9dz6qbwy"
    assert timeline(alarm) == ["triggered", "recovered"]
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.PROCESSED}


def test_real_recovery_before_its_trigger_ends_in_the_same_alarm(deliver: Any) -> None:
    deliver(fixture_bytes("metric_cvm_disk_usage_recovery_real"))
    deliver(fixture_bytes("metric_cvm_disk_usage_trigger_repeat_real"))

    alarm = Alarm.objects.get()
    assert alarm.status == AlarmStatus.RECOVERED
    assert alarm.recovered_at == datetime(2021, 5, 6, 0, 46, tzinfo=UTC)
    assert alarm.duration_seconds == 101340
    assert alarm.notification_count == 2
    assert alarm.trigger_seen is True
    assert alarm.current_value == "26.14"
