"""Deliveries in the admin: read-only, bodies pretty-printed and escaped, exact search."""

from __future__ import annotations

from typing import Any

from django.test import Client

from alarms.choices import DeliveryStatus
from alarms.models import CallbackEndpoint
from alarms.pipeline.claims import finish
from alarms.pipeline.store import store_delivery
from alarms.services.lifecycle import apply_notification
from tests.support.admin import DELIVERIES, listed_ids
from tests.support.factories import make_delivery, notification


def delivery_url(delivery: Any) -> str:
    return f"/admin/alarms/delivery/{delivery.pk}/change/"


def test_list_shows_status_badge_truncated_error_and_alarm_link(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    failed = make_delivery(admin_endpoint)
    finish(failed.pk, DeliveryStatus.FAILED, error="not an alarm: " + "x" * 200)
    processed = make_delivery(admin_endpoint)
    alarm = apply_notification(
        endpoint=admin_endpoint, notification=notification(), delivery=processed
    ).alarm
    finish(processed.pk, DeliveryStatus.PROCESSED)

    html = viewer_client.get(DELIVERIES).content.decode()

    assert f'alarmhub-bg-{DeliveryStatus.FAILED.colour[1:]}">Failed</span>' in html
    assert "not an alarm: " + "x" * 60 in html
    assert "x" * 100 not in html
    assert f'href="/admin/alarms/alarm/{alarm.pk}/change/"' in html


def test_filter_by_status(viewer_client: Client, admin_endpoint: CallbackEndpoint) -> None:
    failed = make_delivery(admin_endpoint)
    finish(failed.pk, DeliveryStatus.FAILED, error="boom")
    make_delivery(admin_endpoint)

    assert listed_ids(viewer_client.get(f"{DELIVERIES}?status__exact=failed")) == [failed.pk]


def test_search_is_an_exact_session_id_or_delivery_id(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    wanted = store_delivery(
        endpoint_id=admin_endpoint.pk,
        body=b'{"sessionId": "S123"}',
        session_id="S123",
        remote_addr=None,
        content_type="application/json",
        user_agent="",
    )
    other = make_delivery(admin_endpoint)

    assert listed_ids(viewer_client.get(DELIVERIES, {"q": "S123"})) == [wanted.delivery_id]
    assert listed_ids(viewer_client.get(DELIVERIES, {"q": "S12"})) == []
    assert listed_ids(viewer_client.get(DELIVERIES, {"q": str(other.pk)})) == [other.pk]


def test_change_page_pretty_prints_a_json_body(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    delivery = make_delivery(admin_endpoint, body='{"alarmStatus":"1","云":[1,2]}'.encode())

    html = viewer_client.get(delivery_url(delivery)).content.decode()

    assert "{\n  &quot;alarmStatus&quot;: &quot;1&quot;,\n  &quot;云&quot;: [\n    1," in html


def test_change_page_shows_a_body_that_is_not_json_or_utf8_as_received(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    delivery = make_delivery(admin_endpoint, body=b"\xff<b>not json</b>")

    html = viewer_client.get(delivery_url(delivery)).content.decode()

    assert "\ufffd&lt;b&gt;not json&lt;/b&gt;" in html


def test_deliveries_are_read_only_even_for_superusers(
    superuser_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    delivery = make_delivery(admin_endpoint)

    page = superuser_client.get(delivery_url(delivery))

    assert superuser_client.get(f"{DELIVERIES}add/").status_code == 403
    assert 'name="_save"' not in page.content.decode()
    assert superuser_client.post(delivery_url(delivery), {"error": "x"}).status_code == 403
    assert superuser_client.get(f"/admin/alarms/delivery/{delivery.pk}/delete/").status_code == 403


def test_delivery_page_explains_the_pairing_escaped(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    from alarms.models import Alarm, Delivery
    from alarms.pipeline.claims import claim
    from alarms.pipeline.process import process_claimed
    from tests.support.factories import encode, tencent_payload

    body = encode(tencent_payload(instance_id="ins-<script>x</script>"))
    stored = store_delivery(
        endpoint_id=admin_endpoint.pk,
        body=body,
        session_id="S1",
        remote_addr=None,
        content_type="application/json",
        user_agent="",
    )
    assert claim(stored.delivery_id)
    process_claimed(stored.delivery_id)
    alarm = Alarm.objects.get()

    html = viewer_client.get(delivery_url(Delivery.objects.get())).content.decode()

    assert alarm.fingerprint in html
    assert f'href="/admin/alarms/alarm/{alarm.pk}/change/"' in html
    assert "&quot;identity_fields&quot;" in html
    assert "<script>x</script>" not in html
