"""The ``source`` filter and field: one FilterSet, so list, board, stats and export agree."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from alarms.models import Alarm, CallbackEndpoint
from alarms.services.endpoints import create_callback_endpoint
from tests.web.api.conftest import Account, at, metric_alarm

pytestmark = pytest.mark.django_db


@pytest.fixture
def alarms(api_endpoint: CallbackEndpoint) -> dict[str, Alarm]:
    prometheus = create_callback_endpoint(name="prom", source="alertmanager").endpoint
    return {
        "tencent": metric_alarm(api_endpoint, instance_id="ins-1", first_occurred_at=at(5)),
        "alertmanager": metric_alarm(
            prometheus,
            instance_id="10.0.0.1:9100",
            source="alertmanager",
            namespace="prometheus/node",
            first_occurred_at=at(6),
        ),
    }


def _ids(response: object) -> set[int]:
    return {row["id"] for row in response.json()["results"]}  # type: ignore[attr-defined]


def test_every_alarm_says_its_source(alarms: dict[str, Alarm], viewer: APIClient) -> None:
    rows = viewer.get("/api/v1/alarms/").json()["results"]

    assert {row["id"]: row["source"] for row in rows} == {
        alarms["tencent"].pk: "tencent",
        alarms["alertmanager"].pk: "alertmanager",
    }


@pytest.mark.parametrize("source", ["tencent", "alertmanager"])
def test_source_filter_keeps_that_sources_alarms(
    alarms: dict[str, Alarm], viewer: APIClient, source: str
) -> None:
    response = viewer.get("/api/v1/alarms/", {"source": source})

    assert response.status_code == 200
    assert _ids(response) == {alarms[source].pk}


def test_source_filter_is_repeatable(alarms: dict[str, Alarm], viewer: APIClient) -> None:
    response = viewer.get("/api/v1/alarms/?source=tencent&source=alertmanager")

    assert _ids(response) == {alarm.pk for alarm in alarms.values()}


def test_unknown_source_is_a_400(alarms: dict[str, Alarm], viewer: APIClient) -> None:
    response = viewer.get("/api/v1/alarms/", {"source": "nagios"})

    assert response.status_code == 400


def test_stats_count_only_the_filtered_source(alarms: dict[str, Alarm], viewer: APIClient) -> None:
    window = {"first_occurred_after": "2024-03-01T00:00:00Z"}

    both = viewer.get("/api/v1/stats/", window).json()
    prometheus = viewer.get("/api/v1/stats/", {**window, "source": "alertmanager"}).json()

    assert (both["alarms"], prometheus["alarms"]) == (2, 1)
    assert [row["namespace"] for row in prometheus["by_namespace"]] == ["prometheus/node"]


def test_export_holds_only_the_filtered_source(alarms: dict[str, Alarm], viewer: APIClient) -> None:
    response = viewer.get("/api/v1/alarms/export/", {"format": "csv", "source": "alertmanager"})

    text = b"".join(response.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["id"] for row in rows] == [str(alarms["alertmanager"].pk)]


def test_board_renders_and_applies_the_source_filter(
    alarms: dict[str, Alarm], accounts: dict[str, Account]
) -> None:
    browser = Client()
    browser.force_login(accounts["viewer"].user)  # type: ignore[arg-type]

    response = browser.get("/", {"source": "alertmanager"})

    page = response.content.decode()
    # Rendered like status and kind: one checkbox per source, the chosen one checked.
    [chosen] = re.findall(r'<input[^>]*name="source"[^>]*value="alertmanager"[^>]*>', page)
    assert "checked" in chosen
    assert re.search(r'<input[^>]*name="source"[^>]*value="tencent"', page)
    assert {alarm.pk for alarm in response.context["alarms"]} == {alarms["alertmanager"].pk}
