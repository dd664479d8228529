"""Payload text is escaped everywhere the admin shows it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alarms.models import CallbackEndpoint, Delivery
from alarms.services.endpoints import rotate_endpoint_token
from alarms.services.operator import add_note
from tests.support.admin import ALARMS, DELIVERIES, alarm_url
from tests.support.factories import apply_alarm, post_callback, tencent_payload

SCRIPT = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"


@pytest.fixture
def hostile(admin_endpoint: CallbackEndpoint, operator_user: Any) -> dict[str, Any]:
    """An alarm, a delivery and a note whose every text field carries a script tag."""
    alarm = apply_alarm(
        admin_endpoint,
        namespace=f"qce/{SCRIPT}",
        region=SCRIPT,
        policy_name=SCRIPT,
        policy_id=f"policy-{SCRIPT}",
        policy_type=SCRIPT,
        instance_name=SCRIPT,
        instance_id=f"ins-{SCRIPT}",
        dimensions={"unInstanceId": f"ins-{SCRIPT}", SCRIPT: SCRIPT},
        metric_name=SCRIPT,
        metric_display_name=SCRIPT,
        current_value=SCRIPT,
        unit=SCRIPT,
        level=SCRIPT,
        session_id=SCRIPT,
        extras={"note": SCRIPT},
    )
    add_note(alarm=alarm, author=operator_user, text=SCRIPT)
    new = rotate_endpoint_token(endpoint=admin_endpoint)
    body = tencent_payload(session_id=SCRIPT, instance_id=SCRIPT, policyName=SCRIPT)
    response = post_callback(Client(), new.path, body)
    assert response.status_code == 200
    return {"alarm": alarm, "delivery": Delivery.objects.get(session_id=SCRIPT)}


@pytest.mark.parametrize(
    "page",
    [
        "index",
        "changelist",
        "changelist-filtered",
        "change",
        "deliveries",
        "delivery",
        "events",
        "notes",
        "policies",
        "policy",
        "instances",
        "instance",
    ],
)
def test_script_tags_from_payloads_are_escaped(
    operator_client: Client, hostile: dict[str, Any], page: str
) -> None:
    alarm, delivery = hostile["alarm"], hostile["delivery"]
    url = {
        "index": "/admin/",
        "changelist": ALARMS,
        "changelist-filtered": f"{ALARMS}?region=%3Cscript%3Ealert(1)%3C%2Fscript%3E",
        "change": alarm_url(alarm),
        "deliveries": DELIVERIES,
        "delivery": f"/admin/alarms/delivery/{delivery.pk}/change/",
        "events": "/admin/alarms/alarmevent/",
        "notes": "/admin/alarms/note/",
        "policies": "/admin/alarms/policy/",
        "policy": f"/admin/alarms/policy/{alarm.policy_id}/change/",
        "instances": "/admin/alarms/instance/",
        "instance": f"/admin/alarms/instance/{alarm.instance_id}/change/",
    }[page]

    response = operator_client.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert SCRIPT not in html
    assert "<script>alert" not in html
    assert ESCAPED in html  # shown, just not as markup


def test_note_text_posted_by_an_operator_is_escaped(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    operator_client.post(alarm_url(alarm, "add_note"), {"text": f"see {SCRIPT}"})
    html = operator_client.get(alarm_url(alarm)).content.decode()

    assert SCRIPT not in html
    assert f"see {ESCAPED}" in html
