"""The alarm page: read-only facts, links, the timeline and notes, and the operator buttons."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alarms.choices import EventType
from alarms.models import AlarmEvent, CallbackEndpoint, Note
from alarms.selectors import timeline as timeline_selector
from alarms.services.lifecycle import apply_notification
from alarms.services.operator import acknowledge_alarm, add_note
from tests.support.admin import alarm_url, messages_of
from tests.support.factories import apply_alarm, notification


def test_change_page_is_read_only_with_links_to_policy_instance_and_deliveries(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint, namespace="qce/cvm")

    response = operator_client.get(alarm_url(alarm))
    html = response.content.decode()

    assert response.status_code == 200
    assert not response.context["adminform"].form.fields  # no editable field at all
    assert 'name="_save"' not in html
    assert f"/admin/alarms/policy/{alarm.policy_id}/change/" in html
    assert f"/admin/alarms/instance/{alarm.instance_id}/change/" in html
    assert f"/admin/alarms/delivery/?alarm__id__exact={alarm.pk}" in html


def test_dimensions_are_pretty_printed(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(
        admin_endpoint, instance_id="ins-pretty", dimensions={"unInstanceId": "ins-pretty", "a": 1}
    )

    html = operator_client.get(alarm_url(alarm)).content.decode()

    assert "{\n  &quot;a&quot;: 1,\n  &quot;unInstanceId&quot;: &quot;ins-pretty&quot;\n}" in html


def test_timeline_shows_tencent_events_as_system(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint, instance_id="ins-timeline")
    apply_notification(
        endpoint=admin_endpoint,
        notification=notification(
            instance_id="ins-timeline",
            instance_name=alarm.instance.name,
            dimensions=alarm.dimensions,
            first_occurred_at=alarm.first_occurred_at,
            duration_seconds=300,
            current_value="97",
        ),
    )

    response = operator_client.get(alarm_url(alarm))
    timeline = [(event.type, event.actor) for event in response.context["timeline"]]

    assert timeline == [(EventType.TRIGGERED, None), (EventType.REPEATED, None)]
    assert "Repeated" in response.content.decode()
    assert "value: 97" in response.content.decode()


def test_operator_can_acknowledge_from_change_page(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    response = operator_client.post(alarm_url(alarm, "acknowledge"))

    assert response.status_code == 302
    assert response["Location"] == alarm_url(alarm)
    assert messages_of(response) == ["Alarm acknowledged."]
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == operator_user
    assert alarm.events.filter(type=EventType.ACKNOWLEDGED, actor=operator_user).count() == 1
    page = operator_client.get(alarm_url(alarm)).content.decode()
    assert 'id="alarmhub-unacknowledge"' in page
    assert 'id="alarmhub-acknowledge"' not in page


def test_acknowledging_twice_keeps_the_first_acknowledgement(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)
    operator_client.post(alarm_url(alarm, "acknowledge"))

    response = operator_client.post(alarm_url(alarm, "acknowledge"))

    assert messages_of(response)[-1] == "The alarm was already acknowledged."
    assert alarm.events.filter(type=EventType.ACKNOWLEDGED).count() == 1


def test_operator_can_unacknowledge_from_change_page(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)
    acknowledge_alarm(alarm=alarm, actor=operator_user)

    response = operator_client.post(alarm_url(alarm, "unacknowledge"))

    assert messages_of(response) == ["Acknowledgement withdrawn."]
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None
    assert alarm.events.filter(type=EventType.UNACKNOWLEDGED, actor=operator_user).exists()


def test_operator_can_add_a_note_in_place(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    response = operator_client.post(alarm_url(alarm, "add_note"), {"text": "  Disk cleaned up.  "})

    assert response["Location"] == alarm_url(alarm)
    assert messages_of(response) == ["Note added."]
    note = Note.objects.get(alarm=alarm)
    assert (note.text, note.author) == ("Disk cleaned up.", operator_user)
    page = operator_client.get(alarm_url(alarm))
    assert [event.type for event in page.context["timeline"]][-1] == EventType.ANNOTATED
    assert page.content.decode().count("Disk cleaned up.") == 2  # timeline and notes


def test_an_empty_note_is_refused_with_a_message(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    response = operator_client.post(alarm_url(alarm, "add_note"), {"text": "   "})

    assert response.status_code == 302
    assert messages_of(response) == ["This field is required."]
    assert not Note.objects.exists()


@pytest.mark.parametrize("action", ["acknowledge", "unacknowledge", "add_note"])
def test_operator_urls_accept_only_post(
    operator_client: Client, admin_endpoint: CallbackEndpoint, action: str
) -> None:
    alarm = apply_alarm(admin_endpoint)

    assert operator_client.get(alarm_url(alarm, action)).status_code == 405


def test_operator_urls_require_a_csrf_token(
    operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_user)

    response = client.post(alarm_url(alarm, "acknowledge"))

    assert response.status_code == 403
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None


def test_acknowledging_an_unknown_alarm_is_404(operator_client: Client) -> None:
    assert operator_client.post("/admin/alarms/alarm/999999/acknowledge/").status_code == 404


def test_long_timelines_show_the_latest_entries_and_link_to_the_rest(
    operator_client: Client,
    operator_user: Any,
    admin_endpoint: CallbackEndpoint,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timeline_selector, "TIMELINE_LIMIT", 2)
    alarm = apply_alarm(admin_endpoint)
    for text in ("first", "second", "third"):
        add_note(alarm=alarm, author=operator_user, text=text)

    response = operator_client.get(alarm_url(alarm))

    assert [n.text for n in response.context["notes"]] == ["second", "third"]
    assert len(response.context["timeline"]) == 2
    assert f"/admin/alarms/alarmevent/?alarm__id__exact={alarm.pk}" in response.content.decode()


def test_change_page_query_count_does_not_grow_with_the_timeline(
    operator_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert operator_client.get(alarm_url(alarm)).status_code == 200
        return len(ctx.captured_queries)

    add_note(alarm=alarm, author=operator_user, text="one")
    queries()  # warm per-process caches (content types, sessions) so both counts compare alike
    short = queries()
    for i in range(10):
        add_note(alarm=alarm, author=operator_user, text=f"note {i}")
    acknowledge_alarm(alarm=alarm, actor=operator_user)

    assert AlarmEvent.objects.filter(alarm=alarm).count() == 13
    assert queries() == short
