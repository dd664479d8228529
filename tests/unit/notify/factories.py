"""Outbound alarm snapshots for the notify tests (plain objects: no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from alarms.notify.message import OutboundAlarm

FIRST = datetime(2026, 12, 3, 7, 52, tzinfo=UTC)  # 15:52 in Shanghai
BASE_URL = "https://hub.example.com"
NOW = FIRST + timedelta(minutes=5)  # 2026-12-03T07:57:00Z: a send time
DINGTALK_URL = "https://oapi.dingtalk.com/robot/send?access_token=0123abcd"
FEISHU_URL = "https://open.feishu.cn/open-apis/bot/v2/hook/00000000-0000-0000-0000-000000000000"
WECOM_URL = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=00000000-1111-2222"
# Payload text that tries every injection the robots' markdown would honour.
HOSTILE = (
    "<@all> [x](http://evil) ![img](http://evil/p.png) <at id=all></at> "
    '<font color="warning">red</font> **bold** `code` ~~gone~~ | a | b | &lt;@all&gt; '
    "\\[esc\\](http://evil)\n# heading\r\n> quote www.evil.example \u202eSPOOF"
)


def api_fields(**overrides: Any) -> dict[str, Any]:
    """The REST API's alarm JSON (DESIGN §4) for a firing CPU alarm."""
    fields: dict[str, Any] = {
        "id": 42,
        "status": "firing",
        "kind": "metric",
        "fingerprint": "f" * 64,
        "namespace": "qce/cvm",
        "region": "ap-guangzhou",
        "level": "Serious",
        "policy_id": "policy-abc123",
        "policy_name": "生产 CPU",
        "policy_type": "cvm_device",
        "instance_id": "ins-xxx",
        "instance_name": "web-01",
        "dimensions": {"unInstanceId": "ins-xxx", "objName": "web-01"},
        "metric_name": "cpu_usage",
        "metric_display_name": "CPU利用率",
        "operator": ">",
        "threshold": "80",
        "unit": "%",
        "current_value": "92.5",
        "event_name": "",
        "event_display_name": "",
        "first_occurred_at": "2026-12-03T07:52:00Z",
        "recovered_at": None,
        "last_notified_at": "2026-12-03T07:52:10Z",
        "notification_count": 1,
        "acknowledged": False,
        "acknowledged_by": None,
        "acknowledged_at": None,
        "note_count": 0,
    }
    fields.update(overrides)
    return fields


def make_alarm(**overrides: Any) -> OutboundAlarm:
    """A snapshot built the way the outbox will build it: from the API fields."""
    fields = api_fields(**overrides)
    return OutboundAlarm.from_fields(fields, url=f"{BASE_URL}/alarms/{fields['id']}/")
