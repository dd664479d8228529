"""The board's order without a status filter: firing unacknowledged, firing acknowledged,
recently recovered (marked), the rest; newest first within each, paged by keyset (issue 10)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from alarms.models import Alarm
from alarms.services.endpoints import NewEndpoint
from alarms.services.operator import acknowledge_alarm
from tests.support.accounts import client_for
from tests.support.factories import DEFAULT_FIRST_OCCURRED_AT, apply_alarm


def at(endpoint: NewEndpoint, minute: int, **fields: Any) -> Alarm:
    return apply_alarm(
        endpoint.endpoint,
        first_occurred_at=DEFAULT_FIRST_OCCURRED_AT + timedelta(minutes=minute),
        **fields,
    )


def recovered(endpoint: NewEndpoint, minute: int, ago: timedelta) -> Alarm:
    alarm = at(endpoint, minute, status="recovered")
    Alarm.objects.filter(pk=alarm.pk).update(recovered_at=timezone.now() - ago)
    return alarm


@pytest.fixture
def mixed(endpoint: NewEndpoint, operator: User) -> dict[str, Alarm]:
    """One alarm of each rank, the newest of them in the lowest rank."""
    acked = at(endpoint, 30)
    acknowledge_alarm(alarm=acked, actor=operator)
    return {
        "old_recovered": recovered(endpoint, 40, timedelta(days=2)),
        "recent": recovered(endpoint, 20, timedelta(minutes=5)),
        "acked": acked,
        "firing": at(endpoint, 10),
    }


def shown(response: Any) -> list[int]:
    return [alarm.pk for alarm in response.context["alarms"]]


def test_firing_unacknowledged_first_then_acknowledged_then_recently_recovered(
    mixed: dict[str, Alarm], viewer: User
) -> None:
    response = client_for(viewer).get("/")
    names = ["firing", "acked", "recent", "old_recovered"]
    assert shown(response) == [mixed[name].pk for name in names]
    page = response.content.decode()
    row = page.split(f'id="alarm-row-{mixed["recent"].pk}"', 1)[1].split("</tr>", 1)[0]
    assert "recently recovered</span>" in row
    old = page.split(f'id="alarm-row-{mixed["old_recovered"].pk}"', 1)[1].split("</tr>", 1)[0]
    assert "recently recovered" not in old


def test_a_status_filter_keeps_newest_first(mixed: dict[str, Alarm], viewer: User) -> None:
    response = client_for(viewer).get("/?status=firing&status=recovered")
    names = ["old_recovered", "acked", "recent", "firing"]
    assert shown(response) == [mixed[name].pk for name in names]
    acked = client_for(viewer).get("/?acknowledged=false")
    assert shown(acked) == [mixed[name].pk for name in ("old_recovered", "recent", "firing")]


def test_the_api_keeps_newest_first(mixed: dict[str, Alarm], viewer: User) -> None:
    body = client_for(viewer).get("/api/v1/alarms/").json()
    names = ["old_recovered", "acked", "recent", "firing"]
    assert [row["id"] for row in body["results"]] == [mixed[name].pk for name in names]


def test_recently_recovered_window_is_a_setting(
    mixed: dict[str, Alarm], viewer: User, settings: Any
) -> None:
    settings.ALARMHUB_RECENTLY_RECOVERED_SECONDS = 60
    response = client_for(viewer).get("/")
    names = ["firing", "acked", "old_recovered", "recent"]  # both rank "the rest" now
    assert shown(response) == [mixed[name].pk for name in names]


def test_keyset_pages_cross_the_ranks_both_ways_without_gaps_or_repeats(
    endpoint: NewEndpoint, viewer: User, monkeypatch: Any
) -> None:
    monkeypatch.setattr("alarms.console.board.PAGE_SIZE", 2)
    firing = [at(endpoint, m) for m in (1, 5, 3)]
    old = [recovered(endpoint, m, timedelta(days=3)) for m in (9, 2)]
    recent = recovered(endpoint, 0, timedelta(minutes=1))
    expected = [firing[1].pk, firing[2].pk, firing[0].pk, recent.pk, old[0].pk, old[1].pk]
    client = client_for(viewer)
    pages = [client.get("/")]
    while pages[-1].context["next_query"]:
        pages.append(client.get(f"/?{pages[-1].context['next_query']}"))
    assert [pk for page in pages for pk in shown(page)] == expected
    assert "before_rank=" in pages[0].context["next_query"]
    back = client.get(f"/?{pages[-1].context['newer_query']}")
    assert shown(back) == shown(pages[-2])
    newer = [back]
    while newer[-1].context["newer_query"]:
        newer.append(client.get(f"/?{newer[-1].context['newer_query']}"))
    assert [shown(page) for page in reversed(newer)] == [shown(page) for page in pages[:-1]]


def test_an_unusable_rank_in_a_link_reads_as_the_first(endpoint: NewEndpoint, viewer: User) -> None:
    alarm = at(endpoint, 1)
    newer = at(endpoint, 2)
    boundary = newer.first_occurred_at.isoformat()
    response = client_for(viewer).get(
        "/", {"before": boundary, "before_id": str(newer.pk), "before_rank": "9x"}
    )
    assert response.status_code == 200
    assert shown(response) == [alarm.pk]
