"""Stale alarms: firing with no push for longer than ALARMHUB_STALE_AFTER_SECONDS. Shown,
filterable, counted apart; only a reading of the data, so a late recovery still lands."""

from __future__ import annotations

from datetime import timedelta

from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from alarms.models import Alarm
from alarms.services.endpoints import NewEndpoint
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm


def pushed_ago(endpoint: NewEndpoint, seconds: int, **overrides: object) -> Alarm:
    return apply_alarm(
        endpoint.endpoint,
        first_occurred_at=timezone.now() - timedelta(seconds=seconds),
        **overrides,
    )


def ids(response: object) -> set[int]:
    return {alarm.pk for alarm in response.context["alarms"]}  # type: ignore[attr-defined]


def test_firing_without_a_push_for_a_day_is_marked_and_counted_apart(
    endpoint: NewEndpoint, viewer: User
) -> None:
    old = pushed_ago(endpoint, 3 * 86400)
    fresh = pushed_ago(endpoint, 600)
    pushed_ago(endpoint, 5 * 86400, status="recovered", duration_seconds=60)
    response = client_for(viewer).get("/")
    page = response.content.decode()
    rows = {alarm.pk: alarm.is_stale for alarm in response.context["alarms"]}
    assert rows[old.pk] is True
    assert rows[fresh.pk] is False
    assert f'id="alarm-row-{old.pk}" data-alarm-id="{old.pk}"' in page
    assert page.count('class="badge badge-stale"') == 1
    assert "2 firing in all (1 stale)" in page
    assert "(1 stale)" in page.split("</h2>")[0]


def test_the_alarm_page_marks_a_stale_alarm(endpoint: NewEndpoint, viewer: User) -> None:
    old = pushed_ago(endpoint, 3 * 86400)
    fresh = pushed_ago(endpoint, 600)
    assert "badge-stale" in client_for(viewer).get(f"/alarms/{old.pk}/").content.decode()
    assert "badge-stale" not in client_for(viewer).get(f"/alarms/{fresh.pk}/").content.decode()


def test_stale_filter_on_the_board_and_the_api(endpoint: NewEndpoint, viewer: User) -> None:
    old = pushed_ago(endpoint, 3 * 86400)
    fresh = pushed_ago(endpoint, 600)
    recovered = pushed_ago(endpoint, 5 * 86400, status="recovered", duration_seconds=60)
    client = client_for(viewer)
    assert ids(client.get("/", {"stale": "true"})) == {old.pk}
    assert ids(client.get("/", {"stale": "false"})) == {fresh.pk, recovered.pk}
    body = client.get("/api/v1/alarms/", {"stale": "true"}).json()
    assert [row["id"] for row in body["results"]] == [old.pk]
    assert client.get("/api/v1/alarms/", {"stale": "maybe"}).status_code == 400


def test_the_threshold_is_a_setting(endpoint: NewEndpoint, viewer: User) -> None:
    old = pushed_ago(endpoint, 3 * 86400)
    with override_settings(ALARMHUB_STALE_AFTER_SECONDS=7 * 86400):
        assert ids(client_for(viewer).get("/", {"stale": "true"})) == set()
    with override_settings(ALARMHUB_STALE_AFTER_SECONDS=3600):
        assert ids(client_for(viewer).get("/", {"stale": "true"})) == {old.pk}


def test_a_late_recovery_still_lands_on_a_stale_alarm(endpoint: NewEndpoint, viewer: User) -> None:
    old = pushed_ago(endpoint, 3 * 86400, instance_id="ins-late")
    apply_alarm(
        endpoint.endpoint,
        instance_id="ins-late",
        first_occurred_at=old.first_occurred_at,
        status="recovered",
        duration_seconds=3 * 86400 - 60,
    )
    old.refresh_from_db()
    assert old.status == "recovered"
    assert ids(client_for(viewer).get("/", {"stale": "true"})) == set()
