"""`GET /api/v1/alarms/` filters, as a table: query parameters → the alarms listed (NetBox style).

The same FilterSet serves the dashboard and admin, so these rows are its specification.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.http import QueryDict
from rest_framework.test import APIClient

from alarms.filters.filtersets import AlarmFilterSet
from alarms.models import Alarm, CallbackEndpoint
from alarms.services.operator import acknowledge_alarm
from tests.web.api.conftest import apply, at

URL = "/api/v1/alarms/"


@pytest.fixture
def alarms(api_endpoint: CallbackEndpoint) -> dict[str, Alarm]:
    """Five alarms that differ in every filtered attribute."""
    built = {
        "A": apply(
            api_endpoint,
            namespace="qce/cvm",
            region="gz",
            policy_id="policy-cpu",
            policy_name="CPU high",
            instance_id="ins-web1",
            instance_name="web-1",
            dimensions={"unInstanceId": "ins-web1"},
            metric_name="cpu_usage",
            level="Warn",
            first_occurred_at=at(1, 2),
        ),
        "B": apply(
            api_endpoint,
            status="recovered",
            duration_seconds=600,
            namespace="qce/cvm",
            region="sh",
            policy_id="policy-disk",
            policy_name="Disk full",
            instance_id="ins-db1",
            instance_name="db-1",
            dimensions={"unInstanceId": "ins-db1"},
            metric_name="disk_usage",
            metric_display_name="Disk utilization",
            level="Serious",
            first_occurred_at=at(2),
        ),
        "C": apply(
            api_endpoint,
            namespace="qce/cdb",
            region="gz",
            policy_id="policy-cdb",
            policy_name="MySQL CPU",
            instance_id="cdb-orders",
            instance_name="orders-db",
            dimensions={"InstanceId": "cdb-orders"},
            metric_name="cpu_use_rate",
            level="Remind",
            first_occurred_at=at(3),
        ),
        "D": apply(
            api_endpoint,
            kind="event",
            namespace="qce/cvm",
            region="bj",
            policy_id="",
            policy_name="Ping unreachable",
            instance_id="ins-batch",
            instance_name="batch-1",
            dimensions={"unInstanceId": "ins-batch"},
            metric_name="",
            metric_display_name="",
            operator="",
            threshold="",
            unit="",
            period_seconds=None,
            current_value="",
            event_name="ping_unreachable",
            event_display_name="Ping unreachable",
            first_occurred_at=at(4),
        ),
        "E": apply(
            api_endpoint,
            status="recovered",
            duration_seconds=60,
            namespace="qce/lb",
            region="gz",
            policy_id="",
            policy_name="",
            instance_id="",
            instance_name="",
            dimensions={"vip": "10.0.0.9"},
            metric_name="ClientConnum",
            metric_display_name="Client connections",
            first_occurred_at=at(5),
        ),
    }
    for label in ("C", "E"):
        acknowledge_alarm(alarm=built[label], actor=None)
    return built


def _labels(alarms: dict[str, Alarm], response: Any) -> set[str]:
    by_id = {alarm.pk: label for label, alarm in alarms.items()}
    return {by_id[row["id"]] for row in response.json()["results"]}


FILTER_TABLE: list[tuple[dict[str, Any], str]] = [
    ({}, "ABCDE"),
    # namespace: repeatable, OR
    ({"namespace": "qce/cvm"}, "ABD"),
    ({"namespace": ["qce/cvm", "qce/cdb"]}, "ABCD"),
    ({"namespace": "qce/none"}, ""),
    ({"namespace": ""}, "ABCDE"),  # an empty form input means "any"
    # region
    ({"region": "gz"}, "ACE"),
    ({"region": ["sh", "bj"]}, "BD"),
    # status
    ({"status": "firing"}, "ACD"),
    ({"status": "recovered"}, "BE"),
    ({"status": ["firing", "recovered"]}, "ABCDE"),
    # policy_id / instance_id (through the foreign keys)
    ({"policy_id": "policy-cpu"}, "A"),
    ({"policy_id": ["policy-cpu", "policy-cdb"]}, "AC"),
    ({"instance_id": "ins-web1"}, "A"),
    ({"instance_id": ["ins-web1", "ins-batch", "unknown"]}, "AD"),
    # acknowledged
    ({"acknowledged": "true"}, "CE"),
    ({"acknowledged": "false"}, "ABD"),
    # kind / level
    ({"kind": "event"}, "D"),
    ({"kind": "metric"}, "ABCE"),
    ({"level": "Warn"}, "A"),
    ({"level": ["Remind", "Serious"]}, "BC"),
    # time bounds: inclusive; no offset means UTC; any offset is converted
    ({"first_occurred_after": "2024-03-03T00:00:00Z"}, "CDE"),
    ({"first_occurred_after": "2024-03-03T00:00:00"}, "CDE"),
    ({"first_occurred_after": "2024-03-03T08:00:00+08:00"}, "CDE"),
    ({"first_occurred_after": "2024-03-03T08:00:00 08:00"}, "CDE"),  # unencoded "+"
    ({"first_occurred_after": "2024-03-03T00:00:01Z"}, "DE"),
    ({"first_occurred_before": "2024-03-02T00:00:00Z"}, "AB"),
    ({"first_occurred_before": "2024-03-02"}, "AB"),
    ({"first_occurred_after": "2024-03-02", "first_occurred_before": "2024-03-04"}, "BCD"),
    # q: case-insensitive substring over policy name/id, instance id/name, metric/event name
    ({"q": "cpu"}, "AC"),
    ({"q": "ORDERS"}, "C"),
    ({"q": "policy-disk"}, "B"),
    ({"q": "ping"}, "D"),
    ({"q": "ins-batch"}, "D"),
    ({"q": "clientconn"}, "E"),
    ({"q": "   "}, "ABCDE"),
    ({"q": "no such thing"}, ""),
    # combinations are ANDed
    ({"namespace": "qce/cvm", "status": "firing"}, "AD"),
    ({"region": "gz", "acknowledged": "false", "kind": "metric"}, "A"),
    ({"namespace": ["qce/cvm", "qce/cdb"], "status": "firing", "q": "cpu"}, "AC"),
    # unknown parameters are ignored
    ({"colour": "red"}, "ABCDE"),
    # empty values (an HTML form's "any") mean no filter, for choices too
    ({"status": "", "kind": "", "acknowledged": "", "namespace": ""}, "ABCDE"),
    ({"status": ["", "firing"]}, "ACD"),
]


@pytest.mark.parametrize(
    ("params", "expected"), FILTER_TABLE, ids=[str(p) for p, _ in FILTER_TABLE]
)
def test_alarm_list_filter(
    viewer: APIClient, alarms: dict[str, Alarm], params: dict[str, Any], expected: str
) -> None:
    response = viewer.get(URL, params)
    assert response.status_code == 200, response.content
    assert _labels(alarms, response) == set(expected)


INVALID_TABLE: list[tuple[dict[str, Any], str]] = [
    ({"status": "burning"}, "status"),
    ({"status": ["firing", "burning"]}, "status"),
    ({"kind": "log"}, "kind"),
    ({"acknowledged": "maybe"}, "acknowledged"),
    ({"acknowledged": "1"}, "acknowledged"),
    ({"first_occurred_after": "yesterday"}, "first_occurred_after"),
    ({"first_occurred_before": "2024-13-01T00:00:00Z"}, "first_occurred_before"),
    ({"first_occurred_after": "0001-01-01T00:00:00+05:00"}, "first_occurred_after"),
    ({"namespace": "x" * 301}, "namespace"),
    ({"namespace": [f"ns-{i}" for i in range(101)]}, "namespace"),
    ({"instance_id": "ins-\x00"}, "instance_id"),
    ({"q": "x" * 201}, "q"),
    ({"cursor": "not-a-cursor"}, "cursor"),
]


@pytest.mark.parametrize(("params", "field"), INVALID_TABLE, ids=[f for _, f in INVALID_TABLE])
def test_invalid_filter_value_answers_400_naming_the_parameter(
    viewer: APIClient, alarms: dict[str, Alarm], params: dict[str, Any], field: str
) -> None:
    response = viewer.get(URL, params)
    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert body[field] and all(isinstance(message, str) for message in body[field])


def test_filterset_works_without_the_api_for_dashboard_and_admin(
    alarms: dict[str, Alarm],
) -> None:
    filterset = AlarmFilterSet(
        data=QueryDict("namespace=qce/cvm&status=firing&q="), queryset=Alarm.objects.all()
    )
    assert filterset.is_valid()
    assert set(filterset.qs) == {alarms["A"], alarms["D"]}
    invalid = AlarmFilterSet(data=QueryDict("kind=nope"), queryset=Alarm.objects.all())
    assert not invalid.is_valid()
    assert list(invalid.errors) == ["kind"]


def test_repeatable_filter_renders_one_escaped_text_input_per_value() -> None:
    filterset = AlarmFilterSet(
        data=QueryDict("namespace=qce/cvm&namespace=<b>"), queryset=Alarm.objects.none()
    )

    html = str(filterset.form["namespace"])

    assert html.count('type="text"') == 2
    assert 'value="qce/cvm"' in html
    assert "&lt;b&gt;" in html
    assert "<b>" not in html
