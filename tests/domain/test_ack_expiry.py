"""Acknowledgement expiry rules (issue 12, item 8), with time frozen: an acknowledgement of a
matching firing alarm lapses after the rule's time, re-arming its notifications."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client

from alarms.choices import EventType
from alarms.models import AckExpiryRule, Alarm, CallbackEndpoint, Channel, OutboundMessage
from alarms.permissions import OPERATOR
from alarms.services.ack_expiry import ACK_EXPIRED, expire_acknowledgements, save_rule
from alarms.services.lifecycle import apply_notification
from alarms.services.operator import acknowledge_alarm
from tests.conftest import make_staff_user
from tests.support.accounts import console_user
from tests.support.factories import make_delivery, make_endpoint, notification

pytestmark = pytest.mark.django_db

ACKED_AT = datetime(2024, 3, 1, 3, 0, tzinfo=UTC)
FOUR_HOURS = 4 * 3600
FIRST = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


@contextmanager
def frozen(moment: datetime) -> Iterator[None]:
    # Every service reads django.utils.timezone.now(); so do auto_now fields.
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


@pytest.fixture
def ep() -> CallbackEndpoint:
    return make_endpoint(name="ack-expiry").endpoint


@pytest.fixture
def li_wei() -> User:
    return make_staff_user("li.wei", OPERATOR)


def fire(ep: CallbackEndpoint, **overrides: Any) -> Alarm:
    overrides.setdefault("first_occurred_at", FIRST)
    if "instance_id" in overrides:  # the identity comes from the dimensions
        overrides["dimensions"] = {"unInstanceId": overrides["instance_id"]}
    return apply_notification(
        endpoint=ep, notification=notification(**overrides), delivery=make_delivery(ep)
    ).alarm


def acked(ep: CallbackEndpoint, user: User, *, at: datetime = ACKED_AT, **overrides: Any) -> Alarm:
    alarm = fire(ep, **overrides)
    with frozen(at):
        acknowledge_alarm(alarm=alarm, actor=user)
    alarm.refresh_from_db()
    return alarm


def rule(**fields: Any) -> AckExpiryRule:
    fields.setdefault("expire_after_seconds", FOUR_HOURS)
    return save_rule(rule=AckExpiryRule(**fields), actor=None)


def test_an_acknowledgement_expires_after_the_rules_time_and_says_why(
    ep: CallbackEndpoint, li_wei: User
) -> None:
    four_hours = rule()
    alarm = acked(ep, li_wei)

    just_before = ACKED_AT + timedelta(seconds=FOUR_HOURS - 1)
    assert expire_acknowledgements(now=just_before) == 0
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == li_wei

    at = ACKED_AT + timedelta(seconds=FOUR_HOURS)
    with frozen(at):
        assert expire_acknowledgements(now=at) == 1
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None and alarm.acknowledged_by is None
    # The first acknowledgement stays on record (time to acknowledge is a statistic).
    assert alarm.first_acknowledged_at == ACKED_AT
    event = alarm.events.get(type=EventType.UNACKNOWLEDGED)
    assert event.actor is None
    assert event.details == {
        "reason": ACK_EXPIRED,
        "rule_id": four_hours.pk,
        "expire_after_seconds": FOUR_HOURS,
        "acknowledged_at": ACKED_AT.isoformat(),
        "acknowledged_by": "li.wei",
    }
    # A rerun (the next beat) finds nothing left to do.
    assert expire_acknowledgements(now=at + timedelta(minutes=1)) == 0
    assert alarm.events.filter(type=EventType.UNACKNOWLEDGED).count() == 1


def test_only_firing_alarms_matching_an_active_rule_lapse(
    ep: CallbackEndpoint, li_wei: User
) -> None:
    rule(filter={"namespace": ["qce/cvm"]})
    rule(filter={}, is_active=False, expire_after_seconds=60)
    cvm = acked(ep, li_wei, instance_id="ins-cvm")
    cdb = acked(ep, li_wei, instance_id="ins-cdb", namespace="qce/cdb")
    closed = acked(ep, li_wei, instance_id="ins-closed")
    fire(ep, instance_id="ins-closed", status="recovered", duration_seconds=600)

    assert expire_acknowledgements(now=ACKED_AT + timedelta(days=1)) == 1
    states = {
        a.pk: a.acknowledged_at is not None
        for a in Alarm.objects.filter(pk__in=[cvm.pk, cdb.pk, closed.pk])
    }
    assert states == {cvm.pk: False, cdb.pk: True, closed.pk: True}


def test_a_fresh_acknowledgement_starts_a_new_clock(ep: CallbackEndpoint, li_wei: User) -> None:
    rule()
    alarm = acked(ep, li_wei)
    lapsed = ACKED_AT + timedelta(seconds=FOUR_HOURS)
    assert expire_acknowledgements(now=lapsed) == 1

    with frozen(lapsed + timedelta(minutes=5)):
        acknowledge_alarm(alarm=alarm, actor=li_wei)
    assert expire_acknowledgements(now=lapsed + timedelta(seconds=FOUR_HOURS)) == 0
    assert expire_acknowledgements(now=lapsed + timedelta(seconds=FOUR_HOURS + 300)) == 1


def test_the_shortest_matching_rule_wins(ep: CallbackEndpoint, li_wei: User) -> None:
    rule(expire_after_seconds=8 * 3600)
    one_hour = rule(expire_after_seconds=3600, filter={"level": ["Serious"]})
    alarm = acked(ep, li_wei, level="Serious")

    assert expire_acknowledgements(now=ACKED_AT + timedelta(hours=9)) == 1
    event = alarm.events.get(type=EventType.UNACKNOWLEDGED)
    assert event.details["rule_id"] == one_hour.pk


def test_expiry_sends_nothing_but_re_arms_the_next_repeat(
    ep: CallbackEndpoint, li_wei: User
) -> None:
    unowned = Channel.objects.create(
        name="unowned",
        kind="webhook",
        url="http://127.0.0.1:9/hook",
        events=["repeated"],
        filter={"acknowledged": ["false"]},
    )
    rule()
    alarm = acked(ep, li_wei)
    fire(ep)  # a repeat while acknowledged: the "unowned" channel hears nothing
    assert not OutboundMessage.objects.filter(channel=unowned).exists()

    lapsed = ACKED_AT + timedelta(seconds=FOUR_HOURS)
    assert expire_acknowledgements(now=lapsed) == 1
    assert not OutboundMessage.objects.exists()  # the expiry itself is no news

    with frozen(lapsed + timedelta(minutes=1)):
        fire(ep)  # the next repeat
    [message] = OutboundMessage.objects.filter(channel=unowned)
    assert (message.alarm_id, message.event) == (alarm.pk, "repeated")


def test_an_alarm_firing_again_after_a_recovery_is_a_new_unacknowledged_alarm(
    ep: CallbackEndpoint, li_wei: User
) -> None:
    # expire_on_refire holds by construction: a new lifecycle carries no acknowledgement.
    rule(expire_after_seconds=None, expire_on_refire=True)
    first = acked(ep, li_wei)
    fire(ep, status="recovered", duration_seconds=600)
    again = fire(ep, first_occurred_at=FIRST + timedelta(hours=2))

    assert again.pk != first.pk and again.acknowledged_at is None
    first.refresh_from_db()
    assert first.acknowledged_by == li_wei  # history is kept
    # A rule without a time limit never unacknowledges anything on its own.
    assert expire_acknowledgements(now=ACKED_AT + timedelta(days=30)) == 0


def test_a_repeat_of_the_same_lifecycle_keeps_the_acknowledgement(
    ep: CallbackEndpoint, li_wei: User
) -> None:
    rule()
    alarm = acked(ep, li_wei)
    with frozen(ACKED_AT + timedelta(hours=1)):
        fire(ep)
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == li_wei


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"filter": {"colour": ["red"]}}, "filter"),
        ({"expire_after_seconds": 59}, "expire_after_seconds"),
        ({"expire_after_seconds": None, "expire_on_refire": False}, "expire_after_seconds"),
    ],
)
def test_an_invalid_rule_is_refused_naming_the_field(fields: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        rule(**fields)
    assert field in caught.value.message_dict
    assert not AckExpiryRule.objects.exists()


def test_operators_without_manage_channel_may_not_write_rules() -> None:
    operator = console_user("otto", OPERATOR)  # not staff
    with pytest.raises(PermissionDenied):
        save_rule(rule=AckExpiryRule(expire_after_seconds=3600), actor=operator)


def test_the_admin_creates_a_rule_through_the_service() -> None:
    boss = User.objects.create_superuser("boss", password="pw-unused-123")
    client = Client()
    client.force_login(boss)
    response = client.post(
        "/admin/alarms/ackexpiryrule/add/",
        {
            "filter": '{"namespace": "qce/cvm"}',
            "expire_after_seconds": "14400",
            "expire_on_refire": "on",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    saved = AckExpiryRule.objects.get()
    # Cleaned by the service: a single value becomes the vocabulary's list.
    assert saved.filter == {"namespace": ["qce/cvm"]}
    assert saved.created_by == boss

    refused = client.post(
        "/admin/alarms/ackexpiryrule/add/",
        {"filter": "{}", "expire_after_seconds": "5", "is_active": "on"},
    )
    assert refused.status_code == 200
    assert b"60 seconds" in refused.content
    assert AckExpiryRule.objects.count() == 1


def test_staff_without_manage_channel_cannot_open_the_rules_in_the_admin() -> None:
    client = Client()
    client.force_login(make_staff_user("staff-only"))
    assert client.get("/admin/alarms/ackexpiryrule/").status_code == 403
    assert client.get("/admin/alarms/ackexpiryrule/add/").status_code == 403


def test_the_beat_task_applies_the_rules(ep: CallbackEndpoint, li_wei: User) -> None:
    from django.conf import settings

    from alarms.tasks import expire_acknowledgements as task

    assert settings.CELERY_BEAT_SCHEDULE["expire-acknowledgements"]["task"] == task.name
    rule()
    alarm = acked(ep, li_wei)
    with frozen(ACKED_AT + timedelta(days=1)):
        assert task() == 1
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None
