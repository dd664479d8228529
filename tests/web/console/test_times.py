"""Times in the operator's zone (DESIGN §6): labelled, UTC on hover, typed filters read there."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.utils import timezone

from alarms.console.timezone import COOKIE_NAME
from alarms.models import Alarm
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm, post_callback, tencent_payload


@pytest.fixture
def beijing_alarm(endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any) -> Alarm:
    """Tencent sends Beijing wall time: firstOccurTime 15:52:15 is 07:52:15 UTC."""
    body = tencent_payload(first_occur="2026-12-03 15:52:15", instance_id="ins-bj000001")
    with django_capture_on_commit_callbacks(execute=True):
        assert post_callback(Client(), endpoint.path, body).status_code == 200
    alarm = Alarm.objects.get(instance__instance_id="ins-bj000001")
    assert alarm.first_occurred_at == datetime(2026, 12, 3, 7, 52, 15, tzinfo=UTC)
    return alarm


def test_beijing_time_is_shown_in_beijing_for_a_shanghai_cookie(
    beijing_alarm: Alarm, viewer: User
) -> None:
    page = client_for(viewer, alarmhub_tz="Asia/Shanghai").get("/").content.decode()
    assert 'title="2026-12-03 07:52:15 UTC">2026-12-03 15:52 CST</time>' in page


def test_alarm_page_shows_the_same_zoned_time(beijing_alarm: Alarm, viewer: User) -> None:
    client = client_for(viewer, alarmhub_tz="Asia/Shanghai")
    page = client.get(f"/alarms/{beijing_alarm.pk}/").content.decode()
    assert "2026-12-03 15:52 CST" in page
    assert 'datetime="2026-12-03T07:52:15+00:00"' in page


def test_zone_without_an_abbreviation_is_labelled_with_its_offset(
    beijing_alarm: Alarm, viewer: User
) -> None:
    page = client_for(viewer, alarmhub_tz="Asia/Singapore").get("/").content.decode()
    assert "2026-12-03 15:52 +08:00" in page


@override_settings(TIME_ZONE="America/New_York")
def test_without_a_cookie_the_site_zone_applies(beijing_alarm: Alarm, viewer: User) -> None:
    page = client_for(viewer).get("/").content.decode()
    assert "2026-12-03 02:52 EST" in page


@pytest.mark.parametrize("bad", ["Mars/Olympus", "../../etc/passwd", "x" * 500, ""])
def test_an_invalid_cookie_is_ignored(beijing_alarm: Alarm, viewer: User, bad: str) -> None:
    response = client_for(viewer, alarmhub_tz=bad).get("/")
    assert response.status_code == 200
    assert "2026-12-03 07:52 UTC" in response.content.decode()


def test_from_filter_typed_in_beijing_time_finds_the_alarm(
    beijing_alarm: Alarm, viewer: User
) -> None:
    client = client_for(viewer, alarmhub_tz="Asia/Shanghai")
    found = client.get("/", {"first_occurred_after": "2026-12-03 15:00"}).context["alarms"]
    assert [a.pk for a in found] == [beijing_alarm.pk]
    later = client.get("/", {"first_occurred_after": "2026-12-03 16:00"}).context["alarms"]
    assert later == []


def test_an_explicit_offset_in_a_typed_filter_wins(beijing_alarm: Alarm, viewer: User) -> None:
    client = client_for(viewer, alarmhub_tz="Asia/Shanghai")
    found = client.get("/", {"first_occurred_after": "2026-12-03T07:00:00Z"}).context["alarms"]
    assert [a.pk for a in found] == [beijing_alarm.pk]


def test_the_api_still_reads_naive_times_as_utc_and_answers_in_utc(
    beijing_alarm: Alarm, viewer: User
) -> None:
    client = client_for(viewer, alarmhub_tz="Asia/Shanghai")
    body = client.get("/api/v1/alarms/", {"first_occurred_after": "2026-12-03 07:00"}).json()
    assert [a["id"] for a in body["results"]] == [beijing_alarm.pk]
    assert body["results"][0]["first_occurred_at"].endswith(("Z", "+00:00"))
    none = client.get("/api/v1/alarms/", {"first_occurred_after": "2026-12-03 15:00"}).json()
    assert none["results"] == []


def test_zone_picker_sets_the_cookie_and_goes_back(viewer: User) -> None:
    client = client_for(viewer)
    response = client.post("/timezone/", {"tz": "Asia/Tokyo", "next": "/?namespace=qce/cvm"})
    assert response.status_code == 302
    assert response["Location"] == "/?namespace=qce/cvm"
    assert response.cookies[COOKIE_NAME].value == "Asia/Tokyo"


def test_zone_picker_ignores_an_unknown_zone_and_foreign_next(viewer: User) -> None:
    client = client_for(viewer)
    response = client.post("/timezone/", {"tz": "Not/AZone", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert COOKIE_NAME not in response.cookies


def test_the_zone_does_not_leak_past_the_request(beijing_alarm: Alarm, viewer: User) -> None:
    client_for(viewer, alarmhub_tz="Asia/Tokyo").get("/")
    assert timezone.get_current_timezone_name() == "UTC"


def test_age_is_relative_with_the_absolute_time_on_hover(endpoint: NewEndpoint) -> None:
    from alarms.templatetags.console import when

    html = when(datetime(2024, 3, 1, 2, 0, tzinfo=UTC), "age")
    assert "ago</time>" in html
    assert 'title="2024-03-01 02:00 UTC · 2024-03-01 02:00:00 UTC"' in html
    apply_alarm(endpoint.endpoint)  # the board renders ages too; covered by the page tests


def test_a_url_encoded_zone_cookie_is_understood(beijing_alarm: Alarm, viewer: User) -> None:
    page = client_for(viewer, alarmhub_tz="Asia%2FShanghai").get("/").content.decode()
    assert "2026-12-03 15:52 CST" in page
