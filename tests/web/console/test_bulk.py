"""The board's bulk bar: select rows, acknowledge or unacknowledge them with an optional note,
and get the refreshed table back (htmx) without a reload. Viewers see no controls; a forged
POST is refused."""

from __future__ import annotations

from django.contrib.auth.models import User

from alarms.choices import EventType
from alarms.models import Alarm, AlarmEvent, Note
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm

BULK = "/alarms/bulk/"


def test_operator_acknowledges_the_selected_rows_with_a_note_in_place(
    endpoint: NewEndpoint, operator: User
) -> None:
    one, two, other = (apply_alarm(endpoint.endpoint) for _ in range(3))
    response = client_for(operator).post(
        BULK,
        {
            "alarm": [str(one.pk), str(two.pk)],
            "action": "acknowledge",
            "note": "DB failover, on it",
            "board_query": "namespace=qce/cvm",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    page = response.content.decode()
    # The table partial (no page chrome) with the message swapped in out of band.
    assert "<html" not in page
    assert 'id="console-messages"' in page and 'hx-swap-oob="true"' in page
    assert "2 alarms acknowledged." in page
    acknowledged = set(
        Alarm.objects.filter(acknowledged_at__isnull=False).values_list("pk", flat=True)
    )
    assert acknowledged == {one.pk, two.pk}
    assert Alarm.objects.get(pk=one.pk).acknowledged_by == operator
    notes = Note.objects.filter(text="DB failover, on it")
    assert set(notes.values_list("alarm_id", flat=True)) == {one.pk, two.pk}
    assert notes.get(alarm=one).author == operator
    assert not Note.objects.filter(alarm=other).exists()
    # The refreshed rows show the acknowledgement (an Unacknowledge button for them).
    assert page.count('name="undo"') == 2
    # The board's filters are kept: the rows shown are the filtered ones.
    assert {a.pk for a in response.context["alarms"]} == {one.pk, two.pk, other.pk}


def test_the_refreshed_table_keeps_the_board_filters(endpoint: NewEndpoint, operator: User) -> None:
    cvm = apply_alarm(endpoint.endpoint, namespace="qce/cvm")
    apply_alarm(endpoint.endpoint, namespace="qce/cdb")
    response = client_for(operator).post(
        BULK,
        {"alarm": [str(cvm.pk)], "action": "acknowledge", "board_query": "namespace=qce/cvm"},
        HTTP_HX_REQUEST="true",
    )
    assert [a.pk for a in response.context["alarms"]] == [cvm.pk]


def test_operator_unacknowledges_the_selected_rows(endpoint: NewEndpoint, operator: User) -> None:
    one, two = apply_alarm(endpoint.endpoint), apply_alarm(endpoint.endpoint)
    client = client_for(operator)
    client.post(BULK, {"alarm": [str(one.pk), str(two.pk)], "action": "acknowledge"})
    response = client.post(
        BULK, {"alarm": [str(one.pk)], "action": "unacknowledge"}, HTTP_HX_REQUEST="true"
    )
    assert "1 alarm unacknowledged." in response.content.decode()
    assert Alarm.objects.get(pk=one.pk).acknowledged_at is None
    assert Alarm.objects.get(pk=two.pk).acknowledged_at is not None
    assert AlarmEvent.objects.filter(alarm=one, type=EventType.UNACKNOWLEDGED).count() == 1


def test_without_javascript_the_form_redirects_back_to_the_board(
    endpoint: NewEndpoint, operator: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    response = client_for(operator).post(
        BULK, {"alarm": [str(alarm.pk)], "action": "acknowledge", "board_query": "status=firing"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/?status=firing"
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_at is not None


def test_nothing_selected_or_junk_ids_change_nothing(endpoint: NewEndpoint, operator: User) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    response = client_for(operator).post(
        BULK, {"alarm": ["x", "-1", "9" * 30], "action": "acknowledge"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Select at least one alarm." in response.content.decode()
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_at is None


def test_operators_get_checkboxes_and_the_bar(endpoint: NewEndpoint, operator: User) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    page = client_for(operator).get("/").content.decode()
    assert 'id="bulk-form"' in page
    assert f'name="alarm" value="{alarm.pk}" form="bulk-form"' in page


def test_viewers_see_no_bulk_controls_and_a_forged_post_is_refused(
    endpoint: NewEndpoint, viewer: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    client = client_for(viewer)
    page = client.get("/").content.decode()
    assert 'id="bulk-form"' not in page
    assert 'class="row-select"' not in page
    response = client.post(
        BULK,
        {"alarm": [str(alarm.pk)], "action": "acknowledge", "note": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_at is None
    assert not Note.objects.exists()


def test_anonymous_bulk_post_is_sent_to_log_in(endpoint: NewEndpoint, client: object) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    response = client.post(BULK, {"alarm": [str(alarm.pk)]})  # type: ignore[attr-defined]
    assert response.status_code == 302
    assert Alarm.objects.get(pk=alarm.pk).acknowledged_at is None
