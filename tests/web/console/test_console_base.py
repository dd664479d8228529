"""The console's own frame: brand, navigation, user, log-out, zone picker; admin for staff only."""

from __future__ import annotations

import re

from django.contrib.auth.models import User

from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


def admin_links(page: str) -> list[str]:
    return re.findall(r'href="(/admin/[^"]*)"', page)


def test_non_staff_viewer_gets_a_console_without_admin_links(
    endpoint: NewEndpoint, viewer: User
) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    client = client_for(viewer)
    for url in ("/", f"/alarms/{alarm.pk}/"):
        response = client.get(url)
        assert response.status_code == 200
        page = response.content.decode()
        assert "AlarmHub" in page and "vera" in page
        assert 'action="/accounts/logout/"' in page
        assert admin_links(page) == []
        assert "admin/base" not in [t.name for t in response.templates]


def test_board_rows_link_to_the_console_alarm_page(endpoint: NewEndpoint, viewer: User) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    page = client_for(viewer).get("/").content.decode()
    assert f'href="/alarms/{alarm.pk}/"' in page


def test_staff_get_an_admin_link(endpoint: NewEndpoint, staff_operator: User) -> None:
    page = client_for(staff_operator).get("/").content.decode()
    assert 'href="/admin/"' in page


def test_log_out_form_logs_out(endpoint: NewEndpoint, viewer: User) -> None:
    client = client_for(viewer)
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_zone_picker_lists_common_zones_and_the_current_one(
    endpoint: NewEndpoint, viewer: User
) -> None:
    page = client_for(viewer, alarmhub_tz="Pacific/Chatham").get("/").content.decode()
    assert '<option value="Pacific/Chatham" selected>' in page
    assert '<option value="Asia/Shanghai">' in page
    assert 'action="/timezone/"' in page


def test_console_pages_carry_no_inline_script(endpoint: NewEndpoint, viewer: User) -> None:
    alarm = apply_alarm(endpoint.endpoint)
    client = client_for(viewer)
    for url in ("/", f"/alarms/{alarm.pk}/"):
        page = client.get(url).content.decode()
        scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page, flags=re.S)
        assert scripts, url
        assert all('src="/static/' in attrs and not body.strip() for attrs, body in scripts)
        assert not re.search(r"<[^>]+\son[a-z]+=", page)  # no inline event handlers


def test_pages_load_the_zone_script_and_name_the_zone_they_were_rendered_in(
    endpoint: NewEndpoint, viewer: User
) -> None:
    page = client_for(viewer, alarmhub_tz="Asia/Tokyo").get("/").content.decode()
    assert 'src="/static/alarms/timezone.js"' in page
    assert 'data-active-zone="Asia/Tokyo"' in page
    assert 'data-zone-cookie="alarmhub_tz"' in page
