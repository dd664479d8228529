"""Silences in the domain: which alarm a silence mutes, the filter vocabulary it matches with,
and who may create, change and delete one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import QueryDict
from django.test.utils import CaptureQueriesContext

from alarms.filters.filtersets import AlarmFilterSet
from alarms.models import Alarm, CallbackEndpoint, Silence
from alarms.notify.matching import alarm_matches, validate_filter
from alarms.permissions import OPERATOR, VIEWER
from alarms.services.operator import acknowledge_alarm
from alarms.services.silences import (
    create_silence,
    delete_silence,
    silence_in_force,
    silenced_alarm_ids,
    update_silence,
)
from tests.conftest import make_staff_user
from tests.support.factories import apply_alarm

pytestmark = pytest.mark.django_db

NOW = datetime(2024, 3, 4, 12, 0, tzinfo=UTC)  # a Monday


@pytest.fixture
def source(endpoint: Any) -> CallbackEndpoint:
    return endpoint.endpoint


@pytest.fixture
def alarm(source: CallbackEndpoint) -> Alarm:
    return Alarm.objects.select_related("policy", "instance").get(
        pk=apply_alarm(
            source,
            namespace="qce/cvm",
            region="gz",
            level="Serious",
            policy_id="policy-a",
            instance_id="ins-a",
            first_occurred_at=datetime(2024, 3, 1, 2, 0, tzinfo=UTC),
        ).pk
    )


def silence(filter: dict[str, list[str]] | None = None, **fields: Any) -> Silence:
    fields.setdefault("starts_at", NOW - timedelta(hours=1))
    fields.setdefault("ends_at", NOW + timedelta(hours=1))
    return create_silence(actor=None, filter=filter or {}, **fields)


# --- alarm_matches: each key of the vocabulary ------------------------------------------------


@pytest.mark.parametrize(
    ("key", "hit", "miss"),
    [
        ("namespace", "qce/cvm", "qce/cdb"),
        ("region", "gz", "sh"),
        ("region", "GZ", "SH"),  # the filterset compares regions case-insensitively
        ("status", "firing", "recovered"),
        ("level", "Serious", "Warn"),
        ("kind", "metric", "event"),
        ("policy_id", "policy-a", "policy-b"),
        ("instance_id", "ins-a", "ins-b"),
        ("acknowledged", "false", "true"),
        ("first_occurred_after", "2024-03-01T01:00:00Z", "2024-03-01T03:00:00Z"),
        ("first_occurred_before", "2024-03-01T03:00:00Z", "2024-03-01T01:00:00Z"),
        ("q", "CPU", "memory"),
        # Keys without a Python evaluation fall back to the filterset's query.
        ("source", "tencent", "alertmanager"),
        ("stale", "true", "false"),
    ],
)
def test_alarm_matches_each_filter_key_like_the_board(
    alarm: Alarm, key: str, hit: str, miss: str
) -> None:
    assert alarm_matches(alarm, {key: [hit]})
    assert not alarm_matches(alarm, {key: [miss]})
    # The board's own filterset (given a query string) agrees on both.
    one = Alarm.objects.filter(pk=alarm.pk)
    assert AlarmFilterSet(QueryDict(urlencode({key: hit})), queryset=one).qs.exists()
    assert not AlarmFilterSet(QueryDict(urlencode({key: miss})), queryset=one).qs.exists()


def test_empty_filter_matches_every_alarm(alarm: Alarm) -> None:
    assert alarm_matches(alarm, {})
    assert alarm_matches(alarm, {"namespace": []})


def test_repeated_values_mean_any_of_and_keys_mean_all_of(alarm: Alarm) -> None:
    assert alarm_matches(alarm, {"namespace": ["qce/cdb", "qce/cvm"]})
    assert alarm_matches(alarm, {"namespace": ["qce/cvm"], "region": ["gz"]})
    assert not alarm_matches(alarm, {"namespace": ["qce/cvm"], "region": ["sh"]})


def test_exact_match_is_case_sensitive_like_the_board(alarm: Alarm) -> None:
    assert not alarm_matches(alarm, {"namespace": ["QCE/CVM"]})


def test_acknowledged_filter_follows_the_acknowledgement(alarm: Alarm) -> None:
    acknowledge_alarm(alarm=alarm, actor=None)
    alarm.refresh_from_db()
    assert alarm_matches(alarm, {"acknowledged": ["true"]})
    assert not alarm_matches(alarm, {"acknowledged": ["false"]})


def test_alarm_without_policy_matches_no_policy_filter(alarm: Alarm) -> None:
    Alarm.objects.filter(pk=alarm.pk).update(policy=None)
    alarm.refresh_from_db()
    assert not alarm_matches(alarm, {"policy_id": ["policy-a"]})


def test_exact_keys_need_no_query_once_policy_and_instance_are_loaded(alarm: Alarm) -> None:
    with CaptureQueriesContext(connection) as queries:
        alarm_matches(alarm, {"namespace": ["qce/cvm"], "policy_id": ["policy-a"]})
        alarm_matches(alarm, {"instance_id": ["ins-a"], "acknowledged": ["false"]})
    assert len(queries) == 0


def test_invalid_stored_filter_matches_nothing(alarm: Alarm) -> None:
    assert not alarm_matches(alarm, {"no_such_key": ["x"]})
    assert not alarm_matches(alarm, {"status": ["burning"]})


@pytest.mark.parametrize(
    ("filter", "key"),
    [
        ({"colour": ["red"]}, "colour"),
        ({"status": ["burning"]}, "status"),
        ({"kind": ["other"]}, "kind"),
        ({"acknowledged": ["maybe"]}, "acknowledged"),
        ({"acknowledged": ["true", "false"]}, "acknowledged"),
        ({"first_occurred_after": ["yesterday"]}, "first_occurred_after"),
        ({"namespace": [1]}, "namespace"),
        ({"namespace": ["x" * 301]}, "namespace"),
    ],
)
def test_validate_filter_names_the_bad_key(filter: dict[str, Any], key: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_filter(filter)
    assert list(caught.value.message_dict) == [key]


def test_validate_filter_accepts_a_single_string_and_drops_empty_values() -> None:
    assert validate_filter({"namespace": "qce/cvm", "region": [""]}) == {"namespace": ["qce/cvm"]}


# --- silence_in_force ------------------------------------------------------------------------


def test_matching_silence_in_force_is_found(alarm: Alarm) -> None:
    wanted = silence({"namespace": ["qce/cvm"]}, comment="maintenance")
    assert silence_in_force(alarm, now=NOW) == wanted


def test_silence_for_other_alarms_or_other_times_is_not_found(alarm: Alarm) -> None:
    silence({"namespace": ["qce/cdb"]})
    silence(starts_at=NOW + timedelta(minutes=1), ends_at=NOW + timedelta(hours=1))
    silence(starts_at=NOW - timedelta(hours=2), ends_at=NOW - timedelta(seconds=1))
    assert silence_in_force(alarm, now=NOW) is None


def test_recurring_silence_counts_only_inside_its_daily_window(alarm: Alarm) -> None:
    nightly = silence(
        starts_at=NOW - timedelta(days=7),
        ends_at=NOW + timedelta(days=7),
        recurrence={
            "weekdays": [0, 1, 2, 3, 4],
            "start_time": "22:00",
            "end_time": "06:00",
            "timezone": "Asia/Shanghai",
        },
    )
    # 12:00 UTC is 20:00 in Shanghai; 15:00 UTC is 23:00.
    assert silence_in_force(alarm, now=NOW) is None
    assert silence_in_force(alarm, now=NOW + timedelta(hours=3)) == nightly


def test_silence_in_force_costs_one_query(alarm: Alarm) -> None:
    for _ in range(5):
        silence({"namespace": ["qce/cdb"]})
    with CaptureQueriesContext(connection) as queries:
        assert silence_in_force(alarm, now=NOW) is None
    assert len(queries) == 1


def test_silenced_alarm_ids_marks_only_matching_alarms(
    source: CallbackEndpoint, alarm: Alarm
) -> None:
    other = apply_alarm(source, namespace="qce/cdb")
    silence({"namespace": ["qce/cvm"]})
    alarms = list(Alarm.objects.select_related("policy", "instance"))
    with CaptureQueriesContext(connection) as queries:
        assert silenced_alarm_ids(alarms, now=NOW) == {alarm.pk}
    assert len(queries) == 1
    assert other.pk not in silenced_alarm_ids(alarms, now=NOW)


# --- the write services ----------------------------------------------------------------------


def test_create_silence_stores_the_cleaned_fields_and_creator() -> None:
    operator = make_staff_user("op", OPERATOR)
    created = create_silence(
        actor=operator,
        filter={"namespace": "qce/cvm"},
        starts_at=NOW,
        ends_at=NOW + timedelta(hours=2),
        recurrence=None,
        comment="upgrade",
    )
    created.refresh_from_db()
    assert created.filter == {"namespace": ["qce/cvm"]}
    assert created.created_by == operator
    assert created.comment == "upgrade"


def test_silence_may_not_end_before_it_starts() -> None:
    with pytest.raises(ValidationError) as caught:
        silence(starts_at=NOW, ends_at=NOW - timedelta(seconds=1))
    assert list(caught.value.message_dict) == ["ends_at"]
    assert not Silence.objects.exists()


def test_invalid_filter_is_refused_under_filter_naming_the_key() -> None:
    with pytest.raises(ValidationError) as caught:
        silence({"colour": ["red"]})
    assert caught.value.message_dict == {"filter": ["colour: Unknown filter."]}


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        silence(starts_at=datetime(2024, 3, 4, 12), ends_at=NOW)
    assert list(caught.value.message_dict) == ["starts_at"]


def test_update_changes_only_the_given_fields() -> None:
    s = silence({"namespace": ["qce/cvm"]}, comment="before")
    update_silence(silence=s, actor=None, comment="after")
    s.refresh_from_db()
    assert (s.comment, s.filter) == ("after", {"namespace": ["qce/cvm"]})


def test_update_checks_the_resulting_window() -> None:
    s = silence()
    with pytest.raises(ValidationError) as caught:
        update_silence(silence=s, actor=None, ends_at=s.starts_at - timedelta(minutes=1))
    assert list(caught.value.message_dict) == ["ends_at"]


def test_update_can_clear_the_recurrence() -> None:
    recurrence = {"weekdays": [0], "start_time": "01:00", "end_time": "02:00", "timezone": "UTC"}
    s = silence(recurrence=recurrence)
    update_silence(silence=s, actor=None, recurrence=None)
    s.refresh_from_db()
    assert s.recurrence is None


def test_delete_silence_removes_it() -> None:
    s = silence()
    delete_silence(silence=s, actor=make_staff_user("op", OPERATOR))
    assert not Silence.objects.filter(pk=s.pk).exists()


@pytest.mark.parametrize("role", [VIEWER, None])
def test_viewers_and_staff_without_role_may_not_write_silences(role: str | None) -> None:
    user = make_staff_user("someone", *([role] if role else []))
    s = silence()
    with pytest.raises(PermissionDenied):
        create_silence(actor=user, starts_at=NOW, ends_at=NOW)
    with pytest.raises(PermissionDenied):
        update_silence(silence=s, actor=user, comment="x")
    with pytest.raises(PermissionDenied):
        delete_silence(silence=s, actor=user)
    assert Silence.objects.get(pk=s.pk).comment == ""


def test_manage_channel_permission_may_write_silences() -> None:
    user = User.objects.create_user("channel-admin")
    user.user_permissions.add(Permission.objects.get(codename="manage_channel"))
    user = User.objects.get(pk=user.pk)  # drop the permission cache
    created = create_silence(actor=user, starts_at=NOW, ends_at=NOW)
    delete_silence(silence=created, actor=user)
    assert not Silence.objects.exists()


def test_migrations_give_the_role_groups_their_silence_permissions() -> None:
    def codenames(role: str) -> set[str]:
        perms = Group.objects.get(name=role).permissions.filter(codename__endswith="_silence")
        return set(perms.values_list("codename", flat=True))

    assert codenames(OPERATOR) == {
        "view_silence",
        "add_silence",
        "change_silence",
        "delete_silence",
    }
    assert codenames(VIEWER) == {"view_silence"}
