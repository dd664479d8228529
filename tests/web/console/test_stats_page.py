"""The statistics page (`GET /stats/`): alarm_stats' numbers, the SVG chart, links to the board.

Now is frozen at 2024-03-08 12:00 UTC, so the default window (seven days) starts 2024-03-01 12:00.

    alarm  identity  namespace  policy       first       acked (TTA)     recovered (TTR)
    A      ins-a     qce/cvm    policy-cpu   2nd 10:00   10:05 (300 s)   10:30 (1800 s)
    E      ins-a     qce/cvm    policy-cpu   2nd 23:30   23:45 (900 s)   3rd 00:30 (3600 s)
    B2     ins-b     qce/cvm    policy-disk  3rd 06:00   -               firing
    C      cdb-1     qce/cdb    policy-cdb   4th 00:00   -               02:00 (7200 s)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from alarms.display import humanize_duration
from alarms.models import Alarm, CallbackEndpoint
from alarms.selectors.stats import Window, alarm_stats
from alarms.services.endpoints import NewEndpoint
from alarms.services.operator import acknowledge_alarm
from tests.support.accounts import client_for, console_user
from tests.support.factories import make_endpoint
from tests.web.api.conftest import apply, at

NOW = at(8, 12)


@pytest.fixture(autouse=True)
def _frozen_now() -> Iterator[None]:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        yield


def _alarm(endpoint: CallbackEndpoint, instance: str, first: Any, **extra: Any) -> Alarm:
    fields: dict[str, Any] = {
        "instance_id": instance,
        "instance_name": instance,
        "dimensions": {"unInstanceId": instance},
        "first_occurred_at": first,
    }
    fields.update(extra)
    return apply(endpoint, **fields)


def _ack(alarm: Alarm, actor: User, when: Any) -> None:
    with mock.patch("django.utils.timezone.now", return_value=when):
        acknowledge_alarm(alarm=alarm, actor=actor)


@pytest.fixture
def fixture(db: None) -> dict[str, Alarm]:
    endpoint = make_endpoint(name="stats-page").endpoint
    acker = console_user("acker", "Operator")
    cpu = {"policy_id": "policy-cpu", "policy_name": "CPU high"}
    disk = {"policy_id": "policy-disk", "policy_name": "Disk full"}
    cdb = {"policy_id": "policy-cdb", "policy_name": "MySQL CPU", "namespace": "qce/cdb"}

    def recover(instance: str, first: Any, seconds: int, policy: dict[str, str]) -> None:
        _alarm(endpoint, instance, first, status="recovered", duration_seconds=seconds, **policy)

    a = _alarm(endpoint, "ins-a", at(2, 10), **cpu)
    _ack(a, acker, at(2, 10, 5))
    recover("ins-a", at(2, 10), 1800, cpu)
    e = _alarm(endpoint, "ins-a", at(2, 23, 30), **cpu)
    _ack(e, acker, at(2, 23, 45))
    recover("ins-a", at(2, 23, 30), 3600, cpu)
    b2 = _alarm(endpoint, "ins-b", at(3, 6), **disk)
    c = _alarm(endpoint, "cdb-1", at(4, 0), **cdb)
    recover("cdb-1", at(4, 0), 7200, cdb)
    return {
        name: Alarm.objects.get(pk=x.pk) for name, x in {"A": a, "E": e, "B2": b2, "C": c}.items()
    }


def stat(page: str, name: str) -> str:
    found = re.search(rf'data-stat="{name}">([^<]*)<', page)
    assert found, name
    return found.group(1)


def hrefs(page: str) -> list[str]:
    return [h.replace("&amp;", "&") for h in re.findall(r'href="([^"]+)"', page)]


def test_totals_match_alarm_stats_and_the_hand_computed_fixture(
    fixture: dict[str, Alarm], viewer: User
) -> None:
    response = client_for(viewer).get("/stats/")
    assert response.status_code == 200
    page = response.content.decode()
    expected = alarm_stats(
        Alarm.objects.filter(first_occurred_at__gte=NOW - timedelta(days=7)),
        window=Window(after=NOW - timedelta(days=7), before=NOW),
    )
    assert response.context["stats"].alarms == expected.alarms == 4
    assert (stat(page, "alarms"), stat(page, "firing"), stat(page, "acknowledged")) == (
        "4",
        "1",
        "2",
    )
    assert expected.mtta_seconds == 600 and expected.mttr_seconds == 4200
    assert stat(page, "mtta") == humanize_duration(600) == "10 min"
    assert stat(page, "mttr") == humanize_duration(4200) == "1 h 10 min"
    assert stat(page, "mtta-median") == "10 min"  # (300 + 900) / 2
    assert stat(page, "mtta-p90") == "14 min"  # 300 + 0.9 * 600 = 840 s
    assert stat(page, "mttr-median") == "1 h"
    assert stat(page, "mttr-p90") == "1 h 48 min"  # 3600 + 0.8 * 3600 = 6480 s


def test_per_namespace_and_per_policy_rows_show_their_means(
    fixture: dict[str, Alarm], viewer: User
) -> None:
    context = client_for(viewer).get("/stats/").context
    assert [(r["namespace"], r["alarms"], r["mttr_seconds"]) for r in context["by_namespace"]] == [
        ("qce/cvm", 3, 2700),
        ("qce/cdb", 1, 7200),
    ]
    page = client_for(viewer).get("/stats/").content.decode()
    assert "<td>3</td><td>1</td><td>10 min</td><td>45 min</td>" in page  # qce/cvm
    assert [r["policy_id"] for r in context["by_policy"]] == [
        "policy-cpu",
        "policy-cdb",
        "policy-disk",
    ]


def test_each_row_links_to_the_board_filtered_to_it(
    fixture: dict[str, Alarm], viewer: User
) -> None:
    client = client_for(viewer)
    response = client.get("/stats/", {"namespace": "qce/cvm,qce/cdb"})
    links = hrefs(response.content.decode())
    context = response.context

    def board(rows: str, key: str, value: str) -> set[int]:
        [link] = [row["board_url"] for row in context[rows] if row[key] == value]
        assert link in links
        # The same window, as an absolute UTC time the board reads whatever the zone.
        assert "first_occurred_after=2024-03-01T12%3A00%3A00%2B00%3A00" in link
        return {a.pk for a in client.get(link).context["alarms"]}

    assert board("by_namespace", "namespace", "qce/cdb") == {fixture["C"].pk}
    assert board("by_policy", "policy_id", "policy-cpu") == {fixture["A"].pk, fixture["E"].pk}
    assert board("noisiest_instances", "instance_id", "ins-b") == {fixture["B2"].pk}
    # The flapping identity (two alarms of ins-a) links to its newest alarm's page.
    assert f"/alarms/{fixture['E'].pk}/" in links
    assert board("flapping", "instance_id", "ins-a") == {fixture["A"].pk, fixture["E"].pk}


def test_the_chart_is_server_rendered_svg_with_bars_and_tooltips(
    fixture: dict[str, Alarm], viewer: User
) -> None:
    page = client_for(viewer, alarmhub_tz="Asia/Shanghai").get("/stats/").content.decode()
    svg = page[page.index("<svg") : page.index("</svg>")]
    assert 'role="img"' in svg and '<title id="chart-title">Alarms over time</title>' in svg
    # Daily buckets: the 2nd (A, E; A recovered), 3rd (B2; E recovered), 4th (C, recovered).
    assert svg.count('class="bar bar-triggered"') == 3
    assert svg.count('class="bar bar-recovered"') == 3
    assert "<title>2024-03-02: 2 triggered</title>" in svg
    assert re.findall(r'class="tick"[^>]*>(\d+)<', svg) == ["0", "1", "2"]  # whole, no repeats
    assert "<script" not in page.split("</head>")[1]  # no chart library


def test_a_custom_window_is_read_in_the_operators_zone(
    fixture: dict[str, Alarm], viewer: User
) -> None:
    client = client_for(viewer, alarmhub_tz="Asia/Shanghai")
    response = client.get(
        "/stats/",
        {"window": "custom", "first_occurred_after": "2024-03-02 18:00",
         "first_occurred_before": "2024-03-03 08:00"},
    )  # fmt: skip
    stats = response.context["stats"]
    assert stats.window == Window(after=at(2, 10), before=at(3, 0))  # CST is UTC+8
    assert stats.alarms == 2 and stats.bucket == "hour"  # A and E
    page = response.content.decode()
    assert "<title>03-02 18:00: 1 triggered</title>" in page  # A's UTC 10:00 bucket, in CST
    assert 'value="2024-03-02 18:00"' in page  # the typed time is kept as typed


def test_presets_replace_typed_times(fixture: dict[str, Alarm], viewer: User) -> None:
    client = client_for(viewer)
    assert client.get("/stats/", {"window": "24h"}).context["stats"].alarms == 0
    last_30 = client.get("/stats/", {"window": "30d", "first_occurred_after": "2024-03-04"})
    assert last_30.context["stats"].alarms == 4
    assert last_30.context["stats"].window.after == NOW - timedelta(days=30)


def test_the_board_filters_apply_and_an_invalid_one_is_explained(
    fixture: dict[str, Alarm], viewer: User
) -> None:
    client = client_for(viewer)
    assert client.get("/stats/", {"namespace": "qce/cdb"}).context["stats"].alarms == 1
    assert client.get("/stats/", {"status": "firing"}).context["stats"].alarms == 1
    bad = client.get("/stats/", {"first_occurred_after": "yesterday"})
    assert bad.status_code == 200 and bad.context["stats"] is None
    assert "Correct the filters" in bad.content.decode()


def test_every_role_may_read_it_and_nobody_else(
    endpoint: NewEndpoint, viewer: User, operator: User
) -> None:
    assert client_for(viewer).get("/stats/").status_code == 200
    assert client_for(operator).get("/stats/").status_code == 200
    assert Client().get("/stats/").status_code == 302  # to the login page
    assert client_for(console_user("nobody")).get("/stats/").status_code == 403
    nav = client_for(viewer).get("/").content.decode()
    assert 'href="/stats/"' in nav


def _stats_queries() -> int:
    return 1 if connection.vendor == "postgresql" else 7


def test_query_count_is_pinned_and_flat_in_rows(endpoint: NewEndpoint, viewer: User) -> None:
    client = client_for(viewer)
    for n in range(2):
        _alarm(endpoint.endpoint, f"ins-q{n}", at(5, n))
    with CaptureQueriesContext(connection) as few:
        client.get("/stats/")
    for n in range(30):
        _alarm(endpoint.endpoint, f"ins-m{n}", at(6, n % 24), namespace=f"ns/{n % 5}")
    with CaptureQueriesContext(connection) as many:
        client.get("/stats/")
    assert len(few) == len(many)
    # session, user, the zone preference, 2 permission reads, the saved views menu, the
    # pipeline warning's stalled-callback count (embedded mode), then alarm_stats: one
    # statement on PostgreSQL, else 7 aggregates (its SQLite percentile reads are skipped:
    # nothing recovered or acknowledged).
    assert len(many) == 7 + _stats_queries()


def test_percentiles_cost_four_bounded_queries_on_sqlite(
    fixture: dict[str, Alarm], viewer: User
) -> None:
    client = client_for(viewer)
    with CaptureQueriesContext(connection) as queries:
        client.get("/stats/")
    # The frame's 7 as above; PostgreSQL reads the percentiles in its one statement.
    assert len(queries) == 7 + (_stats_queries() if connection.vendor == "postgresql" else 7 + 4)


def _as_sampled(queryset: Any, *, window: Window, filters: Any = None) -> Any:
    """The page's statistics as PostgreSQL's roll-ups return them past the exact limit."""
    stats = alarm_stats(queryset, window=window, filters=filters)
    stats.sample = {"alarms": 2000, "of": 78000}
    return stats


def test_estimated_lists_are_said_to_be_estimated(fixture: dict[str, Alarm], viewer: User) -> None:
    client = client_for(viewer)
    assert 'data-stat="sample"' not in client.get("/stats/").content.decode()  # exact: no note

    with mock.patch("alarms.console.stats.alarm_stats", _as_sampled):
        english = client.get("/stats/").content.decode()
        chinese = client.get("/stats/", headers={"Accept-Language": "zh-hans"}).content.decode()
    note = stat(english, "sample")
    assert "all 78000 alarms" in note and "sample of 2000" in note
    assert "全部 78000 条告警" in stat(chinese, "sample")
