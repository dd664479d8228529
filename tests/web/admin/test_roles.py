"""The admin respects roles: Viewer browses, Operator acts, staff without a role sees nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from alarms.models import CallbackEndpoint, Note
from alarms.services.operator import acknowledge_alarm
from tests.support.admin import ALARMS, DELIVERIES, ENDPOINTS, alarm_url
from tests.support.factories import apply_alarm, make_delivery


def test_viewer_can_browse_alarms_without_operator_controls(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    changelist = viewer_client.get(ALARMS)
    page = viewer_client.get(alarm_url(alarm))

    assert changelist.status_code == 200
    assert "acknowledge_selected" not in changelist.content.decode()
    assert 'name="_selected_action"' not in changelist.content.decode()
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="alarmhub-acknowledge"' not in html
    assert 'id="alarmhub-note-form"' not in html
    assert "Timeline" in html


@pytest.mark.parametrize("action", ["acknowledge", "unacknowledge", "add_note"])
def test_viewer_posts_to_operator_urls_are_forbidden(
    viewer_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint, action: str
) -> None:
    alarm = apply_alarm(admin_endpoint)
    if action == "unacknowledge":
        acknowledge_alarm(alarm=alarm, actor=operator_user)

    response = viewer_client.post(alarm_url(alarm, action), {"text": "sneaky"})

    assert response.status_code == 403
    alarm.refresh_from_db()
    assert (alarm.acknowledged_at is None) == (action != "unacknowledge")
    assert not Note.objects.exists()


def test_viewer_cannot_run_the_acknowledge_action(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    viewer_client.post(ALARMS, {"action": "acknowledge_selected", "_selected_action": [alarm.pk]})

    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None


def test_viewer_can_browse_deliveries_endpoints_and_the_timeline(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    delivery = make_delivery(admin_endpoint)

    for url in (
        DELIVERIES,
        f"/admin/alarms/delivery/{delivery.pk}/change/",
        ENDPOINTS,
        "/admin/alarms/alarmevent/",
        "/admin/alarms/note/",
        "/admin/alarms/policy/",
        "/admin/alarms/instance/",
    ):
        assert viewer_client.get(url).status_code == 200, url
    endpoint_page = viewer_client.get(f"{ENDPOINTS}{admin_endpoint.pk}/change/")
    assert endpoint_page.status_code == 200
    assert "basic_auth_password" not in endpoint_page.content.decode()
    assert admin_endpoint.token_hash not in endpoint_page.content.decode()


def test_operator_sees_acknowledge_controls_and_actions(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)

    changelist = operator_client.get(ALARMS).content.decode()
    page = operator_client.get(alarm_url(alarm)).content.decode()

    assert "acknowledge_selected" in changelist
    assert "unacknowledge_selected" in changelist
    assert 'id="alarmhub-acknowledge"' in page
    assert 'id="alarmhub-note-form"' in page


def test_operator_cannot_manage_endpoints_but_may_reprocess_deliveries(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    make_delivery(admin_endpoint)

    assert operator_client.get(f"{ENDPOINTS}add/").status_code == 403
    assert "rotate_token" not in operator_client.get(ENDPOINTS).content.decode()
    endpoint_page = operator_client.get(f"{ENDPOINTS}{admin_endpoint.pk}/change/").content.decode()
    assert 'name="timezone"' not in endpoint_page
    assert "reprocess_selected" in operator_client.get(DELIVERIES).content.decode()


def test_viewer_is_not_offered_reprocessing(
    viewer_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    make_delivery(admin_endpoint)

    assert "reprocess_selected" not in viewer_client.get(DELIVERIES).content.decode()


def test_header_links_to_the_dashboard_and_the_dashboard_back_to_the_admin(
    operator_client: Client, admin_endpoint: CallbackEndpoint
) -> None:
    apply_alarm(admin_endpoint)

    admin_page = operator_client.get(ALARMS).content.decode()
    dashboard = operator_client.get("/")

    assert '<a href="/" id="alarmhub-dashboard-link">Dashboard</a>' in admin_page
    assert "View site" not in admin_page  # the dashboard link replaces it
    assert dashboard.status_code == 200
    assert 'href="/admin/"' in dashboard.content.decode()  # the console's way back


def test_header_has_no_dashboard_link_for_staff_without_a_role_or_on_the_login_page(
    norole_client: Client, db: None
) -> None:
    assert 'id="alarmhub-dashboard-link"' not in norole_client.get("/admin/").content.decode()
    assert 'id="alarmhub-dashboard-link"' not in Client().get("/admin/login/").content.decode()


def test_staff_without_role_sees_nothing(
    norole_client: Client, operator_user: Any, admin_endpoint: CallbackEndpoint
) -> None:
    alarm = apply_alarm(admin_endpoint)
    delivery = make_delivery(admin_endpoint)

    index = norole_client.get("/admin/")

    assert index.status_code == 200
    assert index.context["app_list"] == []
    html = index.content.decode()
    assert "have permission to view or edit anything" in html
    assert "alarmhub-at-a-glance" not in html
    for url in (
        ALARMS,
        alarm_url(alarm),
        DELIVERIES,
        f"/admin/alarms/delivery/{delivery.pk}/change/",
        ENDPOINTS,
    ):
        assert norole_client.get(url).status_code == 403, url
    assert norole_client.get("/admin/alarms/").status_code == 404  # no app to show
    for action in ("acknowledge", "add_note"):
        assert norole_client.post(alarm_url(alarm, action), {"text": "x"}).status_code == 403
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None


def test_anonymous_users_are_sent_to_the_login_page(admin_endpoint: CallbackEndpoint) -> None:
    alarm = apply_alarm(admin_endpoint)

    response = Client().post(alarm_url(alarm, "acknowledge"))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    alarm.refresh_from_db()
    assert alarm.acknowledged_at is None
