"""The operators' dashboard: a filterable, live alarm list behind a login."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from alarms.models import Alarm
from alarms.permissions import OPERATOR, VIEWER
from alarms.services.endpoints import NewEndpoint
from alarms.services.lifecycle import apply_notification
from tests.support.factories import DEFAULT_FIRST_OCCURRED_AT, notification

pytestmark = pytest.mark.django_db


def user_in(group: str | None, name: str) -> User:
    user = User.objects.create_user(name, password="pw-unused-123")
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


def logged_in(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def alarm_for(endpoint: NewEndpoint, **overrides: object) -> Alarm:
    return apply_notification(
        endpoint=endpoint.endpoint, notification=notification(**overrides)
    ).alarm


def test_anonymous_is_sent_to_login(endpoint: NewEndpoint) -> None:
    response = Client().get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_user_without_role_is_refused(endpoint: NewEndpoint) -> None:
    assert logged_in(user_in(None, "nobody")).get("/").status_code == 403


def test_viewer_sees_alarms_and_firing_count_in_title(endpoint: NewEndpoint) -> None:
    alarm_for(endpoint, instance_id="ins-a", dimensions={"unInstanceId": "ins-a"})
    alarm_for(endpoint, namespace="qce/cdb", instance_id="cdb-1", dimensions={"uInstanceId": "c"})
    page = logged_in(user_in(VIEWER, "viewer")).get("/").content.decode()
    assert "<title>(2) " in page
    assert "ins-a" in page and "cdb-1" in page
    assert "Acknowledge</button>" not in page  # a viewer cannot act


def test_filters_use_the_shared_filterset(endpoint: NewEndpoint) -> None:
    alarm_for(endpoint, instance_id="ins-a", dimensions={"unInstanceId": "ins-a"})
    alarm_for(endpoint, namespace="qce/cdb", instance_id="cdb-1", dimensions={"uInstanceId": "c"})
    page = logged_in(user_in(VIEWER, "viewer")).get("/?namespace=qce/cdb").content.decode()
    assert "cdb-1" in page
    assert "ins-a" not in page


def test_bad_filter_value_is_explained_not_a_crash(endpoint: NewEndpoint) -> None:
    response = logged_in(user_in(VIEWER, "viewer")).get("/?first_occurred_after=yesterday-ish")
    assert response.status_code == 200
    assert "errorlist" in response.content.decode()


def test_htmx_refresh_returns_only_the_table_partial(endpoint: NewEndpoint) -> None:
    alarm_for(endpoint)
    response = logged_in(user_in(VIEWER, "viewer")).get("/", HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "<table" in body
    assert "<html" not in body


def test_older_page_continues_after_the_last_row_without_overlap(endpoint: NewEndpoint) -> None:
    for minute in range(105):
        alarm_for(
            endpoint,
            first_occurred_at=DEFAULT_FIRST_OCCURRED_AT + timedelta(minutes=minute),
            instance_id=f"ins-{minute:03d}",
            dimensions={"unInstanceId": f"ins-{minute:03d}"},
        )
    client = logged_in(user_in(VIEWER, "viewer"))
    first = client.get("/")
    next_query = first.context["next_query"]
    second = client.get(f"/?{next_query}")
    first_ids = {a.pk for a in first.context["alarms"]}
    second_ids = {a.pk for a in second.context["alarms"]}
    assert len(first_ids) == 100 and len(second_ids) == 5
    assert not first_ids & second_ids


def test_operator_acknowledges_from_the_dashboard(endpoint: NewEndpoint) -> None:
    alarm = alarm_for(endpoint)
    operator = user_in(OPERATOR, "operator")
    response = logged_in(operator).post(f"/alarms/{alarm.pk}/acknowledge/", {"next": "/"})
    assert response.status_code == 302
    alarm.refresh_from_db()
    assert alarm.acknowledged_by == operator
    assert alarm.events.filter(type="acknowledged", actor=operator).exists()


def test_viewer_cannot_acknowledge(endpoint: NewEndpoint) -> None:
    alarm = alarm_for(endpoint)
    response = logged_in(user_in(VIEWER, "viewer")).post(f"/alarms/{alarm.pk}/acknowledge/")
    assert response.status_code == 403
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None


def test_acknowledge_never_redirects_off_site(endpoint: NewEndpoint) -> None:
    alarm = alarm_for(endpoint)
    client = logged_in(user_in(OPERATOR, "operator"))
    response = client.post(f"/alarms/{alarm.pk}/acknowledge/", {"next": "https://evil.example/"})
    assert response["Location"] == "/"


def test_payload_text_is_escaped(endpoint: NewEndpoint) -> None:
    alarm_for(endpoint, policy_name="<script>alert(1)</script>", instance_name="<b>x</b>")
    page = logged_in(user_in(VIEWER, "viewer")).get("/").content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>x</b>" not in page


def test_submitting_the_filter_form_with_any_everywhere_lists_everything(
    endpoint: NewEndpoint,
) -> None:
    alarm_for(endpoint)
    query = "namespace=&region=&policy_id=&status=&kind=&acknowledged=&q="
    response = logged_in(user_in(VIEWER, "viewer")).get(f"/?{query}")
    assert "errorlist" not in response.content.decode()
    assert len(response.context["alarms"]) == 1
