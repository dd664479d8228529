"""The instance's addresses: where Tencent and Prometheus put them, shown on the board and page."""

from __future__ import annotations

import json
from datetime import UTC
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.contrib.auth.models import User

from alarms.display import instance_ips
from alarms.services.endpoints import NewEndpoint
from alarms.sources.tencent.parser import parse_notification
from tests.support.accounts import client_for
from tests.support.factories import apply_alarm

EXAMPLES = Path(__file__).resolve().parents[3] / "alarms/sources/tencent/examples"


def ips(dimensions: Any) -> list[str]:
    return instance_ips(SimpleNamespace(dimensions=dimensions))


def example_dimensions(name: str) -> dict[str, Any]:
    payload = json.loads((EXAMPLES / name).read_text())
    return parse_notification(payload, default_tz=UTC).dimensions


def test_lan_before_wan_from_obj_detail_and_a_non_address_is_ignored() -> None:
    dimensions = example_dimensions("event_cvm_ping_unreachable_status0_real.json")
    assert ips(dimensions) == ["172.19.0.125", "129.226.166.84"]
    assert ips({"ip": "something unnormal"}) == []


def test_addresses_written_into_the_object_name_are_found() -> None:
    cdb = example_dimensions("metric_cdb_cpu_use_rate_trigger_real_intl.json")
    assert ips(cdb) == ["172.22.0.47"]
    assert ips({"objName": "ID:crs-1amp288|Instance Name:price|Ip Port:10.99.182.52:9979"}) == [
        "10.99.182.52"
    ]


@pytest.mark.parametrize(
    ("dimensions", "expected"),
    [
        ({"vip": "118.25.31.161", "vport": "80"}, ["118.25.31.161"]),
        ({"instance": "10.0.0.12:9100", "job": "node"}, ["10.0.0.12"]),
        ({"IP": "10.0.0.1", "privateIp": "10.0.0.1"}, ["10.0.0.1"]),  # each address once
        ({"wanIp": "1.2.3.4", "lanIp": "10.0.0.2"}, ["10.0.0.2", "1.2.3.4"]),
        ({"privateIpAddress": ["10.0.0.3"], "ip": ["10.0.0.4", "x"]}, ["10.0.0.3", "10.0.0.4"]),
        ({"instance": "[2001:db8::1]:9100"}, ["2001:db8::1"]),
        ({"instance": "db-7.example:9100", "unInstanceId": "ins-1"}, []),
        ("not a mapping", []),
    ],
)
def test_instance_ips(dimensions: Any, expected: list[str]) -> None:
    assert ips(dimensions) == expected


def test_board_row_and_alarm_page_show_the_name_and_address(
    endpoint: NewEndpoint, viewer: User
) -> None:
    alarm = apply_alarm(
        endpoint.endpoint,
        instance_name="db-7",
        dimensions={"unInstanceId": "ins-ip1", "objDetail": {"deviceLanIp": "172.21.0.17"}},
        instance_id="ins-ip1",
    )
    client = client_for(viewer)
    board = client.get("/").content.decode()
    row = board.split(f'id="alarm-row-{alarm.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "db-7" in row and '<code class="ip">172.21.0.17</code>' in row
    page = client.get(f"/alarms/{alarm.pk}/").content.decode()
    facts = page.split('id="facts-heading"', 1)[1].split("</dl>", 1)[0]
    assert '<code class="ip">172.21.0.17</code>' in facts
