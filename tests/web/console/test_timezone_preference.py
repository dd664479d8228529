"""The saved time-zone preference (DESIGN §6 "Times"): it wins over the cookie, on every device."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client

from alarms.models import Alarm, UserPreference
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm

REMEMBER = {"remember_offered": "1", "remember": "1"}


@pytest.fixture
def alarm(endpoint: NewEndpoint) -> Alarm:
    return apply_alarm(
        endpoint.endpoint, first_occurred_at=datetime(2026, 12, 3, 7, 52, tzinfo=UTC)
    )


def test_remember_this_zone_saves_it_and_it_wins_over_the_cookie(
    alarm: Alarm, viewer: User
) -> None:
    response = client_for(viewer).post("/timezone/", {"tz": "Asia/Tokyo", "next": "/", **REMEMBER})
    assert response.status_code == 302 and response.cookies["alarmhub_tz"].value == "Asia/Tokyo"
    assert UserPreference.objects.get(user=viewer).timezone == "Asia/Tokyo"

    # Another device whose browser set its own zone still shows the remembered one.
    page = client_for(viewer, alarmhub_tz="Europe/London").get("/").content.decode()
    assert "2026-12-03 16:52 JST" in page
    assert 'name="remember" value="1" checked' in page


def test_an_unticked_box_forgets_the_preference(alarm: Alarm, viewer: User) -> None:
    UserPreference.objects.create(user=viewer, timezone="Asia/Tokyo")
    client = client_for(viewer)
    client.post("/timezone/", {"tz": "Asia/Shanghai", "remember_offered": "1"})
    assert UserPreference.objects.get(user=viewer).timezone == ""
    page = client.get("/").content.decode()  # the cookie set by the same POST decides again
    assert "2026-12-03 15:52 CST" in page
    assert 'name="remember" value="1">' in page


def test_a_form_without_the_box_or_an_invalid_zone_leaves_the_preference_alone(
    viewer: User,
) -> None:
    UserPreference.objects.create(user=viewer, timezone="Asia/Tokyo")
    client = client_for(viewer)
    client.post("/timezone/", {"tz": "Asia/Shanghai"})
    client.post("/timezone/", {"tz": "Mars/Olympus", **REMEMBER})
    assert UserPreference.objects.get(user=viewer).timezone == "Asia/Tokyo"


def test_an_anonymous_visitor_only_gets_the_cookie(db: None) -> None:
    response = Client().post("/timezone/", {"tz": "Asia/Tokyo", **REMEMBER})
    assert response.status_code == 302
    assert not UserPreference.objects.exists()


def test_a_stored_zone_that_is_not_a_zone_is_ignored(alarm: Alarm, viewer: User) -> None:
    UserPreference.objects.create(user=viewer, timezone="Mars/Olympus")
    page = client_for(viewer, alarmhub_tz="Asia/Shanghai").get("/").content.decode()
    assert "2026-12-03 15:52 CST" in page


def test_the_api_stays_utc_whatever_the_preference(alarm: Alarm, viewer: User) -> None:
    UserPreference.objects.create(user=viewer, timezone="Asia/Tokyo")
    body = client_for(viewer).get(f"/api/v1/alarms/{alarm.pk}/").json()
    assert body["first_occurred_at"] == "2026-12-03T07:52:00Z"
