"""The console shows silences: a "silenced" badge on board rows a silence mutes now, and the
alarm page's timeline entry and fact for messages a silence muted."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from alarms.choices import EventType
from alarms.models import AlarmEvent
from alarms.services.endpoints import NewEndpoint
from alarms.services.silences import create_silence
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


def silence_namespace(namespace: str, *, minutes_from_now: int = -5) -> None:
    start = timezone.now() + timedelta(minutes=minutes_from_now)
    create_silence(
        actor=None,
        filter={"namespace": [namespace]},
        starts_at=start,
        ends_at=start + timedelta(hours=1),
    )


def row(page: str, pk: int) -> str:
    start = page.index(f'id="alarm-row-{pk}"')
    return page[start : page.index("</tr>", start)]


def test_board_marks_only_rows_a_silence_mutes_now(endpoint: NewEndpoint, viewer: User) -> None:
    muted = apply_alarm(endpoint.endpoint, namespace="qce/cdb")
    loud = apply_alarm(endpoint.endpoint, namespace="qce/cvm")
    silence_namespace("qce/cdb")
    silence_namespace("qce/cvm", minutes_from_now=30)  # not yet in force
    page = client_for(viewer).get("/").content.decode()
    assert "badge-silenced" in row(page, muted.pk)
    assert "badge-silenced" not in row(page, loud.pk)


def test_board_needs_one_query_for_silences_whatever_their_number(
    endpoint: NewEndpoint, viewer: User
) -> None:
    for _ in range(3):
        apply_alarm(endpoint.endpoint, namespace="qce/cvm")
    client = client_for(viewer)
    client.get("/")
    with CaptureQueriesContext(connection) as none:
        client.get("/")
    for namespace in ("a", "b", "c", "qce/cvm"):
        silence_namespace(namespace)
    with CaptureQueriesContext(connection) as several:
        page = client.get("/").content.decode()
    assert page.count('class="badge badge-silenced"') == 3
    assert len(several) == len(none)


def test_acknowledging_from_the_board_keeps_the_silenced_badge(
    endpoint: NewEndpoint, operator: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint, namespace="qce/cdb")
    silence_namespace("qce/cdb")
    response = client_for(operator).post(
        f"/alarms/{alarm.pk}/acknowledge/", {"from": "board"}, HTTP_HX_REQUEST="true"
    )
    assert "badge-silenced" in row(response.content.decode(), alarm.pk)


def test_alarm_page_explains_a_muted_message(endpoint: NewEndpoint, viewer: User) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    trigger = alarm.events.get(type=EventType.TRIGGERED)
    # What the outbox writes when a silence mutes the messages of an event.
    AlarmEvent.objects.create(
        alarm=alarm,
        type=EventType.SILENCED,
        details={"silence_id": 7, "event": "triggered", "event_id": trigger.pk, "channels": [1, 2]},
    )
    page = client_for(viewer).get(f"/alarms/{alarm.pk}/").content.decode()
    assert "The “triggered” message was not sent to 2 channels: silence #7 was in force." in page
    assert "event_id" not in page
    assert "badge-silenced" in page


def test_alarm_page_without_silenced_events_shows_no_silenced_fact(
    endpoint: NewEndpoint, viewer: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    page = client_for(viewer).get(f"/alarms/{alarm.pk}/").content.decode()
    assert "badge-silenced" not in page
