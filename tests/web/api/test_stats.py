"""`GET /api/v1/stats/` (DESIGN §6 "Statistics") against a hand-computed fixture.

Now is frozen at 2024-03-08 12:00 UTC, so the default window starts 2024-03-01 12:00.

    alarm  identity  namespace  policy       first      acked (TTA)     recovered (TTR)
    D      ins-a     qce/cvm    policy-cpu   1st 00:00  -               00:01 (before the window)
    A      ins-a     qce/cvm    policy-cpu   2nd 10:00  10:05 (300 s)   10:30 (1800 s)
    E      ins-a     qce/cvm    policy-cpu   2nd 23:30  23:45 (900 s)   3rd 00:30 (3600 s)
    B      ins-b     qce/cvm    policy-disk  3rd 00:00  -               superseded by B2 (no time)
    B2     ins-b     qce/cvm    policy-disk  3rd 06:00  06:10 (600 s), unacknowledged; firing
    C      cdb-1     qce/cdb    policy-cdb   4th 00:00  -               02:00 (7200 s); one repeat
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from alarms.models import Alarm, CallbackEndpoint
from alarms.services.operator import acknowledge_alarm, unacknowledge_alarm
from tests.web.api.conftest import ROLES, Account, apply, at

URL = "/api/v1/stats/"
NOW = at(8, 12)
AUTH_QUERIES = 3  # token + the user's and their groups' permissions
# On PostgreSQL one statement (selectors.stats_postgres); elsewhere totals, namespaces,
# policies, instances, flapping, triggered and recovered buckets, and, without PostgreSQL's
# percentile_cont, four more reading the MTTA/MTTR medians and p90s.
POSTGRES_QUERIES = AUTH_QUERIES + 1
STATS_QUERIES = AUTH_QUERIES + 7
PERCENTILE_QUERIES = 4


def _alarm(endpoint: CallbackEndpoint, instance: str, first: datetime, **extra: Any) -> Alarm:
    fields: dict[str, Any] = {
        "instance_id": instance,
        "instance_name": instance,
        "dimensions": {"unInstanceId": instance},
        "first_occurred_at": first,
    }
    fields.update(extra)
    return apply(endpoint, **fields)


def _ack(alarm: Alarm, actor: Any, when: datetime) -> None:
    with mock.patch("django.utils.timezone.now", return_value=when):
        acknowledge_alarm(alarm=alarm, actor=actor)


@pytest.fixture
def fixture(api_endpoint: CallbackEndpoint, accounts: dict[str, Account]) -> dict[str, Alarm]:
    ops = accounts["operator"].user
    cpu = {"policy_id": "policy-cpu", "policy_name": "CPU high"}
    disk = {"policy_id": "policy-disk", "policy_name": "Disk full"}
    cdb = {"policy_id": "policy-cdb", "policy_name": "MySQL CPU", "namespace": "qce/cdb"}

    def recover(instance: str, first: datetime, seconds: int, policy: dict[str, str]) -> Alarm:
        return _alarm(
            api_endpoint, instance, first, status="recovered", duration_seconds=seconds, **policy
        )

    d = _alarm(api_endpoint, "ins-a", at(1, 0), **cpu)
    recover("ins-a", at(1, 0), 60, cpu)
    a = _alarm(api_endpoint, "ins-a", at(2, 10), **cpu)
    _ack(a, ops, at(2, 10, 5))
    recover("ins-a", at(2, 10), 1800, cpu)
    e = _alarm(api_endpoint, "ins-a", at(2, 23, 30), **cpu)
    _ack(e, ops, at(2, 23, 45))
    recover("ins-a", at(2, 23, 30), 3600, cpu)
    b = _alarm(api_endpoint, "ins-b", at(3, 0), **disk)
    b2 = _alarm(api_endpoint, "ins-b", at(3, 6), **disk)
    _ack(b2, ops, at(3, 6, 10))
    with mock.patch("django.utils.timezone.now", return_value=at(3, 6, 20)):
        unacknowledge_alarm(alarm=b2, actor=ops)
    c = _alarm(api_endpoint, "cdb-1", at(4, 0), **cdb)
    _alarm(api_endpoint, "cdb-1", at(4, 0), **cdb)  # a repeat
    recover("cdb-1", at(4, 0), 7200, cdb)
    built = {"D": d, "A": a, "E": e, "B": b, "B2": b2, "C": c}
    return {name: Alarm.objects.get(pk=alarm.pk) for name, alarm in built.items()}


def _stats(client: APIClient, query: str = "") -> dict[str, Any]:
    with mock.patch("django.utils.timezone.now", return_value=NOW):
        response = client.get(f"{URL}?{query}")
    assert response.status_code == 200, response.content
    return response.json()


def test_fixture_is_what_the_table_says(fixture: dict[str, Alarm]) -> None:
    assert fixture["B"].superseded and fixture["B"].recovered_at is None
    assert fixture["B2"].status == "firing" and not fixture["B2"].acknowledged
    assert fixture["B2"].first_acknowledged_at == at(3, 6, 10)
    assert fixture["C"].notification_count == 3


def test_totals_and_means_match_the_hand_computed_fixture(
    fixture: dict[str, Alarm], viewer: APIClient
) -> None:
    stats = _stats(viewer)

    assert stats["window"] == {"after": "2024-03-01T12:00:00Z", "before": "2024-03-08T12:00:00Z"}
    assert stats["alarms"] == 5  # D started before the window
    assert stats["firing"] == 1  # B2; B was superseded
    assert stats["acknowledged"] == 2  # A and E; B2's acknowledgement was removed
    # MTTA over A, E and B2 (first acknowledgement kept): (300 + 900 + 600) / 3.
    assert stats["mtta_seconds"] == 600
    # MTTR over A, E and C; superseded B and firing B2 have no recovery time.
    assert stats["mttr_seconds"] == (1800 + 3600 + 7200) / 3
    assert stats["mtta_percentiles"] == {"median": 600, "p90": 840}  # 600 + 0.8 * 300
    assert stats["mttr_percentiles"] == {"median": 3600, "p90": 6480}  # 3600 + 0.8 * 3600
    assert stats["sample"] is None  # every figure exact: nothing estimated from a sample


def test_breakdowns_are_sorted_by_alarms(fixture: dict[str, Alarm], viewer: APIClient) -> None:
    stats = _stats(viewer)

    assert [tuple(row.values()) for row in stats["by_namespace"]] == [
        # namespace, alarms, firing, MTTA, MTTR
        ("qce/cvm", 4, 1, 600, 2700),
        ("qce/cdb", 1, 0, None, 7200),
    ]
    assert [
        (p["policy_id"], p["policy_name"], p["alarms"], p["mtta_seconds"], p["mttr_seconds"])
        for p in stats["by_policy"]
    ] == [
        ("policy-cpu", "CPU high", 2, 600, 2700),
        ("policy-disk", "Disk full", 2, 600, None),
        ("policy-cdb", "MySQL CPU", 1, None, 7200),
    ]
    assert stats["noisiest_instances"] == [
        {"instance_id": "ins-a", "instance_name": "ins-a", "alarms": 2, "notifications": 4},
        {"instance_id": "ins-b", "instance_name": "ins-b", "alarms": 2, "notifications": 2},
        {"instance_id": "cdb-1", "instance_name": "cdb-1", "alarms": 1, "notifications": 3},
    ]


def test_identities_with_several_alarms_in_the_window_are_flapping(
    fixture: dict[str, Alarm], viewer: APIClient
) -> None:
    flapping = {row["instance_id"]: row for row in _stats(viewer)["flapping"]}

    assert set(flapping) == {"ins-a", "ins-b"}  # cdb-1 had one alarm
    assert flapping["ins-a"]["alarms"] == 2  # D is outside the window
    assert flapping["ins-a"]["fingerprint"] == fixture["A"].fingerprint
    assert flapping["ins-a"]["latest_alarm_id"] == fixture["E"].pk
    assert flapping["ins-b"]["flapping_alarms"] == 0


def test_an_alarm_flagged_flapping_makes_its_identity_flapping_alone(
    api_endpoint: CallbackEndpoint, viewer: APIClient
) -> None:
    alarm = _alarm(api_endpoint, "ins-x", at(5))
    Alarm.objects.filter(pk=alarm.pk).update(flapping=True)

    assert _stats(viewer)["flapping"] == [
        {
            "fingerprint": alarm.fingerprint,
            "alarms": 1,
            "flapping_alarms": 1,
            "latest_alarm_id": alarm.pk,
            "namespace": "qce/cvm",
            "policy_id": "policy-test0001",
            "policy_name": "CPU high",
            "instance_id": "ins-x",
            "instance_name": "ins-x",
        }
    ]


def test_over_time_is_daily_for_a_week(fixture: dict[str, Alarm], viewer: APIClient) -> None:
    stats = _stats(viewer)

    assert stats["bucket"] == "day"
    assert stats["over_time"] == [
        {"start": f"2024-03-0{day}T00:00:00Z", "triggered": t, "recovered": r}
        for day, t, r in [(1, 0, 0), (2, 2, 1), (3, 2, 1), (4, 1, 1), (5, 0, 0), (6, 0, 0),
                          (7, 0, 0), (8, 0, 0)]
    ]  # fmt: skip


def test_over_time_is_hourly_up_to_two_days(fixture: dict[str, Alarm], viewer: APIClient) -> None:
    query = "first_occurred_after=2024-03-02T00:00:00Z&first_occurred_before=2024-03-03T00:00:00Z"
    stats = _stats(viewer, query)

    assert stats["bucket"] == "hour"
    assert stats["window"] == {"after": "2024-03-02T00:00:00Z", "before": "2024-03-03T00:00:00Z"}
    assert stats["alarms"] == 3  # A, E and B (which started exactly at `before`)
    buckets = {row["start"]: (row["triggered"], row["recovered"]) for row in stats["over_time"]}
    assert len(buckets) == 25
    busy = {start: counts for start, counts in buckets.items() if counts != (0, 0)}
    # E recovered after `before`: outside every bucket.
    assert busy == {
        "2024-03-02T10:00:00Z": (1, 1),
        "2024-03-02T23:00:00Z": (1, 0),
        "2024-03-03T00:00:00Z": (1, 0),
    }


def test_every_alarm_list_filter_narrows_the_statistics(
    fixture: dict[str, Alarm], viewer: APIClient
) -> None:
    cdb = _stats(viewer, "namespace=qce/cdb")
    assert (cdb["alarms"], cdb["mttr_seconds"], cdb["mtta_seconds"]) == (1, 7200, None)
    assert [p["policy_id"] for p in cdb["by_policy"]] == ["policy-cdb"]

    assert _stats(viewer, "acknowledged=false")["alarms"] == 3  # B, B2, C
    assert _stats(viewer, "status=firing")["alarms"] == 1
    assert _stats(viewer, "q=disk")["alarms"] == 2
    assert _stats(viewer, "instance_id=ins-a&instance_id=cdb-1")["alarms"] == 3
    widened = _stats(viewer, "first_occurred_after=2024-02-01T00:00:00Z")
    assert widened["alarms"] == 6  # D too
    assert widened["window"]["after"] == "2024-02-01T00:00:00Z"


def test_no_alarms_gives_zeros_and_nulls(db: None, viewer: APIClient) -> None:
    stats = _stats(viewer)

    assert (stats["alarms"], stats["firing"], stats["acknowledged"]) == (0, 0, 0)
    assert stats["mtta_seconds"] is None and stats["mttr_seconds"] is None
    assert stats["mtta_percentiles"] == {"median": None, "p90": None}
    assert stats["by_namespace"] == stats["by_policy"] == stats["flapping"] == []
    assert len(stats["over_time"]) == 8 and {r["triggered"] for r in stats["over_time"]} == {0}


def test_default_window_is_the_last_seven_days(
    alarm_factory: Callable[..., Alarm], viewer: APIClient
) -> None:
    alarm_factory(instance_id="ins-old", first_occurred_at=NOW - timedelta(days=7, seconds=1))
    alarm_factory(instance_id="ins-edge", first_occurred_at=NOW - timedelta(days=7))
    stats = _stats(viewer)

    assert stats["window"] == {"after": "2024-03-01T12:00:00Z", "before": "2024-03-08T12:00:00Z"}
    assert [row["instance_id"] for row in stats["noisiest_instances"]] == ["ins-edge"]


@pytest.mark.parametrize(
    "query, field",
    [
        ("status=bogus", "status"),
        ("first_occurred_after=yesterday", "first_occurred_after"),
        ("acknowledged=maybe", "acknowledged"),
        ("kind=log", "kind"),
    ],
)
def test_invalid_filter_is_400_naming_it(
    db: None, viewer: APIClient, query: str, field: str
) -> None:
    response = viewer.get(f"{URL}?{query}")

    assert response.status_code == 400
    assert field in response.json()


@pytest.mark.parametrize("role", ROLES)
def test_every_role_that_may_view_alarms_may_see_statistics(
    accounts: dict[str, Account], role: str
) -> None:
    expected = {"anonymous": 401, "norole": 403, "staff": 403}.get(role, 200)

    assert accounts[role].client().get(URL).status_code == expected


@pytest.mark.parametrize("n", [3, 30])
def test_query_count_does_not_grow_with_the_rows(
    accounts: dict[str, Account], alarm_factory: Callable[..., Alarm], n: int
) -> None:
    ops = accounts["operator"].user
    for i in range(n):
        alarm = alarm_factory(instance_id=f"ins-{i}", first_occurred_at=at(5, 0, i))
        if i % 2:
            _ack(alarm, ops, at(5, 1))
            alarm_factory(
                instance_id=f"ins-{i}",
                first_occurred_at=at(5, 0, i),
                status="recovered",
                duration_seconds=60,
            )
    client = accounts["viewer"].client()

    with CaptureQueriesContext(connection) as queries:
        _stats(client)

    if connection.vendor == "postgresql":
        assert len(queries) == POSTGRES_QUERIES
    else:
        assert len(queries) == STATS_QUERIES + PERCENTILE_QUERIES


def test_schema_documents_statistics_with_every_alarm_filter(viewer: APIClient) -> None:
    schema = viewer.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"][URL]["get"]
    list_params = {p["name"] for p in schema["paths"]["/api/v1/alarms/"]["get"]["parameters"]}

    assert {p["name"] for p in operation["parameters"]} == list_params - {"cursor", "page_size"}
    assert set(operation["responses"]) >= {"200", "400", "401", "403"}
