"""The alarm page: facts, timeline, notes, episodes, deliveries; acting in place for Operators."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alarms.models import Alarm, Note
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import apply_notification
from tests.support.accounts import client_for
from tests.support.factories import (
    apply_alarm,
    notification,
    post_callback,
    tencent_payload,
)


def test_non_staff_viewer_reads_the_page_without_controls(
    endpoint: NewEndpoint, viewer: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint, policy_name="CPU high", region="ap-guangzhou")
    response = client_for(viewer).get(f"/alarms/{alarm.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "CPU high" in page and "ap-guangzhou" in page and alarm.fingerprint in page
    assert "<form" in page  # the header's zone picker and log-out
    assert "/acknowledge/" not in page and "/notes/" not in page
    assert 'href="/admin/' not in page


@pytest.mark.parametrize("action", ["acknowledge/", "notes/"])
def test_forged_posts_from_a_viewer_get_403(
    endpoint: NewEndpoint, viewer: User, action: str
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    response = client_for(viewer).post(f"/alarms/{alarm.pk}/{action}", {"text": "hi"})
    assert response.status_code == 403
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None and not Note.objects.exists()


def test_hostile_names_are_escaped(endpoint: NewEndpoint, viewer: User) -> None:
    hostile = "<script>alert(1)</script>"
    alarm = apply_alarm(
        endpoint.endpoint,
        policy_name=hostile,
        instance_name="<b>x</b>",
        dimensions={"unInstanceId": "ins-h", "<img src=x onerror=alert(2)>": hostile},
    )
    page = client_for(viewer).get(f"/alarms/{alarm.pk}/").content.decode()
    assert hostile not in page and "<b>x</b>" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_operator_acknowledges_in_place_and_unacknowledges(
    endpoint: NewEndpoint, operator: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    client = client_for(operator)
    page = client.get(f"/alarms/{alarm.pk}/").content.decode()
    assert f'hx-post="/alarms/{alarm.pk}/acknowledge/"' in page
    done = client.post(
        f"/alarms/{alarm.pk}/acknowledge/", {"from": "alarm"}, HTTP_HX_REQUEST="true"
    )
    body = done.content.decode()
    assert body.lstrip().startswith('<section id="alarm-actions"')
    assert "Acknowledged by otto" in body and "Unacknowledge" in body
    undone = client.post(
        f"/alarms/{alarm.pk}/acknowledge/",
        {"from": "alarm", "undo": "1"},
        HTTP_HX_REQUEST="true",
    )
    assert "Not acknowledged" in undone.content.decode()
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None and alarm.first_acknowledged_at is not None


def test_operator_adds_a_note_in_place(endpoint: NewEndpoint, operator: User) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    response = client_for(operator).post(
        f"/alarms/{alarm.pk}/notes/", {"text": "rebooted <it>"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<section id="notes"')
    assert "rebooted &lt;it&gt;" in body
    assert Note.objects.get().author == operator


def test_an_empty_note_is_explained_beside_the_box(endpoint: NewEndpoint, operator: User) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    client = client_for(operator)
    inline = client.post(f"/alarms/{alarm.pk}/notes/", {"text": "  "}, HTTP_HX_REQUEST="true")
    assert inline.status_code == 200  # htmx swaps only 2xx answers
    assert 'id="note-errors"' in inline.content.decode()
    plain = client.post(f"/alarms/{alarm.pk}/notes/", {"text": ""})
    assert plain.status_code == 400
    assert "A note cannot be empty." in plain.content.decode()
    assert not Note.objects.exists()


def test_a_note_without_javascript_redirects_to_the_notes(
    endpoint: NewEndpoint, operator: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    response = client_for(operator).post(f"/alarms/{alarm.pk}/notes/", {"text": "on it"})
    assert response["Location"] == f"/alarms/{alarm.pk}/#notes"


def episodes(endpoint: NewEndpoint, count: int) -> list[Alarm]:
    """Lifecycles of one identity (same instance), an hour apart, each recovered."""
    start = datetime(2026, 12, 1, tzinfo=UTC)
    result = []
    for i in range(count):
        first = start + timedelta(hours=i)
        for status in ("firing", "recovered"):
            result_alarm = apply_notification(
                endpoint=endpoint.endpoint,
                notification=notification(
                    status=status,
                    first_occurred_at=first,
                    duration_seconds=600 if status == "recovered" else 0,
                    instance_id="ins-flap",
                    dimensions={"unInstanceId": "ins-flap"},
                ),
            ).alarm
        result.append(result_alarm)
    return result


def test_earlier_and_later_episodes_are_linked(endpoint: NewEndpoint, viewer: User) -> None:
    alarms = episodes(endpoint, 3)
    page = client_for(viewer).get(f"/alarms/{alarms[1].pk}/").content.decode()
    assert f'href="/alarms/{alarms[0].pk}/"' in page
    assert f'href="/alarms/{alarms[2].pk}/"' in page
    assert "10 min" in page


def test_timeline_orders_by_the_alarm_time_and_shows_the_received_time(
    endpoint: NewEndpoint, viewer: User, django_capture_on_commit_callbacks: Any
) -> None:
    """A recovery that arrives before its trigger still reads after it."""
    first = "2026-12-03 15:52:15"
    recovery = tencent_payload(
        status="0", first_occur=first, duration=300, instance_id="ins-order1"
    )
    trigger = tencent_payload(first_occur=first, instance_id="ins-order1")
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(Client(), endpoint.path, recovery)
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(Client(), endpoint.path, trigger)
    alarm = Alarm.objects.get(instance__instance_id="ins-order1")
    response = client_for(viewer, alarmhub_tz="Asia/Shanghai").get(f"/alarms/{alarm.pk}/")
    types = [entry.event.type for entry in response.context["timeline"]]
    assert types.index("triggered") < types.index("recovered")
    page = response.content.decode()
    assert "Received" in page and "Alarm time" in page
    assert "session_id" not in page and "sent_at" not in page


def test_deliveries_and_pairing_explanation(
    endpoint: NewEndpoint,
    viewer: User,
    staff_operator: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        post_callback(Client(), endpoint.path, tencent_payload(instance_id="ins-deliv1"))
    alarm = Alarm.objects.get(instance__instance_id="ins-deliv1")
    viewer_page = client_for(viewer).get(f"/alarms/{alarm.pk}/").content.decode()
    assert "How the latest delivery was paired" in viewer_page
    assert alarm.fingerprint in viewer_page
    assert "/admin/alarms/delivery/" not in viewer_page  # not staff: no admin link
    staff_page = client_for(staff_operator).get(f"/alarms/{alarm.pk}/").content.decode()
    assert "/admin/alarms/delivery/" in staff_page


def worked_alarm(
    client: Client,
    endpoint: NewEndpoint,
    instance_id: str,
    *,
    pushes: int,
    notes: int,
    capture: Any,
) -> Alarm:
    """An alarm pushed ``pushes`` times (one delivery each), with notes, acknowledged."""
    for value in range(90, 90 + pushes):  # a trigger, then repeats
        with capture(execute=True):
            post_callback(
                Client(), endpoint.path, tencent_payload(instance_id=instance_id, value=str(value))
            )
    alarm = Alarm.objects.get(instance__instance_id=instance_id, notification_count=pushes)
    for i in range(notes):
        client.post(f"/alarms/{alarm.pk}/notes/", {"text": f"note {i}"})
    client.post(f"/alarms/{alarm.pk}/acknowledge/")
    # The acknowledgement's message is shown (and so consumed, a session write) on the next
    # page; that is the message's cost, not the page's.
    client.get(f"/alarms/{alarm.pk}/")
    return alarm


def test_alarm_page_query_count_is_pinned(
    endpoint: NewEndpoint, operator: User, django_capture_on_commit_callbacks: Any
) -> None:
    """Flat in timeline, notes, episodes and deliveries: each is one bounded query."""
    client = client_for(operator)
    capture = django_capture_on_commit_callbacks
    quiet = worked_alarm(client, endpoint, "ins-quiet", pushes=1, notes=0, capture=capture)
    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/alarms/{quiet.pk}/").status_code == 200
    episodes(endpoint, 4)
    busy = worked_alarm(client, endpoint, "ins-flap", pushes=3, notes=5, capture=capture)
    with CaptureQueriesContext(connection) as many:
        assert client.get(f"/alarms/{busy.pk}/").status_code == 200
    assert len(few) == len(many)
    # Request: session, user, the saved zone preference (once per request, cached on it),
    # 2 permission reads (user, groups). Page: the alarm (stale annotated in), events, notes,
    # earlier and later episodes, deliveries, the latest delivery's body, the explanation's
    # look-up of its identity ("silenced" comes from the events, no query). Frame: the
    # saved-views menu, the pipeline warning's stalled-callback count (embedded mode).
    assert len(many) == 15
