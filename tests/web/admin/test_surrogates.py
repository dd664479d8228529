"""Lone surrogates (valid JSON, not valid UTF-8) render on every page as U+FFFD (issue 14.5)."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from alarms.choices import DeliveryStatus
from alarms.models import Alarm, Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.admin import alarm_url
from tests.support.factories import post_callback, tencent_payload

LONE_SURROGATE_BODY = b'{"x":"\\ud800"}'


def _delivery_page(delivery: Delivery) -> str:
    return f"/admin/alarms/delivery/{delivery.pk}/change/"


def test_delivery_with_a_lone_surrogate_renders_in_the_admin(
    superuser_client: Client, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(Client(), endpoint.path, LONE_SURROGATE_BODY).status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED  # stored, not an alarm

    response = superuser_client.get(_delivery_page(delivery))

    assert response.status_code == 200
    html = response.content.decode()
    assert "&quot;x&quot;: &quot;\ufffd&quot;" in html  # the raw body, pretty-printed, escaped


def _alarm_with_surrogates(endpoint: NewEndpoint, capture: Any) -> Alarm:
    # ensure_ascii (the default) writes a lone surrogate as its JSON escape, as a sender might.
    payload = tencent_payload(instance_id="ins-\ud800")
    payload["alarmObjInfo"]["dimensions"]["deviceName"] = "web-\udfff"
    payload["alarmPolicyInfo"]["policyName"] = "CPU \ud800 high"
    body = json.dumps(payload).encode("ascii")
    with capture(execute=True):
        assert post_callback(Client(), endpoint.path, body).status_code == 200
    return Alarm.objects.get()


def test_alarm_from_a_body_with_lone_surrogates_renders_everywhere(
    superuser_client: Client, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    alarm = _alarm_with_surrogates(endpoint, django_capture_on_commit_callbacks)
    delivery = Delivery.objects.get()

    pages = [
        _delivery_page(delivery),
        alarm_url(alarm),
        f"/alarms/{alarm.pk}/",
        f"/api/v1/deliveries/{delivery.pk}/",
        f"/api/v1/alarms/{alarm.pk}/",
    ]
    for page in pages:
        response = superuser_client.get(page)
        assert response.status_code == 200, page
        response.content.decode("utf-8")  # valid UTF-8 throughout
    assert "\ufffd" in superuser_client.get(_delivery_page(delivery)).content.decode()
