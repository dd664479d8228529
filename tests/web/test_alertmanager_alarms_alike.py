"""Issue 13 item 3: stats and the board show an Alertmanager alarm as they show a Tencent one.

The Alertmanager alarm comes through the real callback and parser (``job`` label → namespace
``prometheus/<job>``, DESIGN §6), not from a hand-built notification.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from alarms.permissions import VIEWER
from alarms.services.endpoints import NewEndpoint, create_callback_endpoint
from tests.support.accounts import client_for, console_user
from tests.support.factories import apply_alarm, post_callback

pytestmark = pytest.mark.django_db

WEBHOOK = {
    "version": "4",
    "groupKey": '{}:{alertname="HostHighCpuLoad"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "alarmhub",
    "groupLabels": {"alertname": "HostHighCpuLoad"},
    "commonLabels": {"alertname": "HostHighCpuLoad", "job": "node"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "HostHighCpuLoad", "instance": "10.0.0.1:9100", "job": "node"},
            "annotations": {"summary": "Host high CPU load"},
            "startsAt": "2024-03-01T03:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph",
            "fingerprint": "c0ffee",
        }
    ],
}


@pytest.fixture
def viewer_client(db: None) -> Client:
    return client_for(console_user("vera", VIEWER))


def test_an_alertmanager_alarm_counts_in_stats_and_shows_on_the_board_like_a_tencent_one(
    endpoint: NewEndpoint,
    viewer_client: Client,
    client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    apply_alarm(endpoint.endpoint, namespace="qce/cvm")
    prometheus = create_callback_endpoint(name="prom", source="alertmanager", timezone="UTC")
    with django_capture_on_commit_callbacks(execute=True):
        response = post_callback(client, prometheus.path, json.dumps(WEBHOOK).encode())
    assert response.json()["retCode"] == 0

    stats = viewer_client.get("/api/v1/stats/", {"first_occurred_after": "2024-03-01T00:00:00Z"})
    by_namespace = {row["namespace"]: row for row in stats.json()["by_namespace"]}
    board = viewer_client.get("/")

    assert {ns: (row["alarms"], row["firing"]) for ns, row in by_namespace.items()} == {
        "qce/cvm": (1, 1),
        "prometheus/node": (1, 1),
    }
    assert "HostHighCpuLoad" in {row["policy_name"] for row in stats.json()["by_policy"]}
    assert {alarm.namespace for alarm in board.context["alarms"]} == {"qce/cvm", "prometheus/node"}
    page = board.content.decode()
    assert "<td>prometheus/node</td>" in page
    assert "?namespace=prometheus/node&amp;status=firing" in page  # the firing-by-namespace glance
