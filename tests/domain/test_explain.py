"""Explaining the pairing: why two callbacks were, or were not, one alarm."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from alarms.models import Alarm, Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import post_callback, tencent_payload

pytestmark = pytest.mark.django_db(transaction=True)


def explain(delivery: Delivery) -> dict:
    out = StringIO()
    call_command("explain_delivery", str(delivery.pk), stdout=out)
    return json.loads(out.getvalue())


def test_trigger_and_recovery_share_fingerprint_and_alarm(endpoint: NewEndpoint) -> None:
    client = Client()
    post_callback(client, endpoint.path, tencent_payload(status="1", duration=0))
    post_callback(
        client,
        endpoint.path,
        tencent_payload(status="0", duration=120, recover="2024-03-01 10:02:00"),
    )
    trigger, recovery = Delivery.objects.order_by("pk")
    first, second = explain(trigger), explain(recovery)

    alarm = Alarm.objects.get()
    assert first["fingerprint"] == second["fingerprint"] == alarm.fingerprint
    assert first["alarm"] == second["alarm"] == alarm.pk
    assert first["identity_fields"]["dimensions"] == {
        "objId": "94f1133c-46cf-4c61-a4c1-d928183aba47",
        "unInstanceId": "ins-test0001",
    }
    assert second["notification"]["status"] == "recovered"
    assert second["notification"]["recovered_at"] == "2024-03-01T02:02:00+00:00"


def test_different_instance_explains_why_not_paired(endpoint: NewEndpoint) -> None:
    client = Client()
    post_callback(client, endpoint.path, tencent_payload(instance_id="ins-a"))
    post_callback(client, endpoint.path, tencent_payload(instance_id="ins-b"))
    a, b = (explain(d) for d in Delivery.objects.order_by("pk"))
    assert a["fingerprint"] != b["fingerprint"]
    assert a["identity_fields"]["dimensions"]["unInstanceId"] == "ins-a"
    assert b["identity_fields"]["dimensions"]["unInstanceId"] == "ins-b"


def test_unparseable_delivery_explains_the_error(endpoint: NewEndpoint) -> None:
    post_callback(Client(), endpoint.path, {"custom": "template body"})
    result = explain(Delivery.objects.get())
    assert result["notification"] is None
    assert "missing alarmPolicyInfo" in result["error"]


def test_duplicate_explains_which_delivery_it_repeats(endpoint: NewEndpoint) -> None:
    body = tencent_payload()
    post_callback(Client(), endpoint.path, body)
    post_callback(Client(), endpoint.path, body)
    original, duplicate = Delivery.objects.order_by("pk")
    result = explain(duplicate)
    assert f"#{original.pk}" in result["error"]
    assert [result["alarm"]] == original.alarm_ids


def test_unknown_delivery_is_a_clear_error(db: None) -> None:
    with pytest.raises(CommandError, match="No delivery with id 999"):
        call_command("explain_delivery", "999")
