"""Test data builders: endpoints, notifications and Tencent callback bodies.

Plain functions with sensible defaults; every test overrides only what it is about.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from django.test import Client

from alarms.choices import DeliveryStatus
from alarms.models import Alarm, CallbackEndpoint, Delivery
from alarms.services.endpoints import NewEndpoint, create_callback_endpoint
from alarms.sources.base import Notification
from alarms.sources.tencent import EXAMPLES_DIR

FIXTURES = EXAMPLES_DIR

_sequence = itertools.count(1)


def fixture_bytes(name: str) -> bytes:
    """The raw bytes of a file in ``tests/fixtures`` (``.json`` may be omitted)."""
    if not name.endswith(".json"):
        name += ".json"
    return (FIXTURES / name).read_bytes()


def fixture_payload(name: str) -> dict[str, Any]:
    return json.loads(fixture_bytes(name))


# --- endpoints -------------------------------------------------------------------------------


def make_endpoint(
    *,
    name: str | None = None,
    timezone: str = "Asia/Shanghai",
    basic_auth_username: str = "",
    basic_auth_password: str = "",
    is_active: bool = True,
) -> NewEndpoint:
    """A callback endpoint through the real service: ``.endpoint``, ``.token`` and ``.path``."""
    new = create_callback_endpoint(
        name=name or f"endpoint-{next(_sequence)}",
        timezone=timezone,
        basic_auth_username=basic_auth_username,
        basic_auth_password=basic_auth_password,
    )
    if not is_active:
        CallbackEndpoint.objects.filter(pk=new.endpoint.pk).update(is_active=False)
        new.endpoint.refresh_from_db()
    return new


# --- notifications (what the parser hands the lifecycle service) -----------------------------

DEFAULT_FIRST_OCCURRED_AT = datetime(2024, 3, 1, 2, 0, tzinfo=UTC)


def notification(**overrides: Any) -> Notification:
    """A firing CVM CPU metric notification; any field can be overridden.

    A recovery (``status="recovered"``) without ``recovered_at`` recovers at first occurrence
    plus ``duration_seconds``, like Tencent's own recovery bodies.
    """
    fields: dict[str, Any] = {
        "source": "tencent",
        "kind": "metric",
        "status": "firing",
        "session_id": f"session{next(_sequence):016d}",
        "first_occurred_at": DEFAULT_FIRST_OCCURRED_AT,
        "recovered_at": None,
        "duration_seconds": 0,
        "region": "gz",
        "namespace": "qce/cvm",
        "policy_id": "policy-test0001",
        "policy_name": "CPU high",
        "policy_type": "cvm_device",
        "policy_type_ename": "Cloud Virtual Machine",
        "instance_id": "ins-test0001",
        "instance_name": "web-1",
        "dimensions": {"unInstanceId": "ins-test0001", "objName": "10.0.0.1#1"},
        "metric_name": "cpu_usage",
        "metric_display_name": "CPU utilization",
        "operator": ">",
        "threshold": "90",
        "unit": "%",
        "period_seconds": 60,
        "current_value": "95",
    }
    fields.update(overrides)
    if (
        fields["status"] == "recovered"
        and "recovered_at" not in overrides
        and fields["duration_seconds"] is not None
    ):
        fields["recovered_at"] = fields["first_occurred_at"] + timedelta(
            seconds=fields["duration_seconds"]
        )
    return Notification(**fields)


def make_delivery(endpoint: CallbackEndpoint, *, body: bytes | None = None) -> Delivery:
    """A stored delivery row (already processed) to pass to ``apply_notification``."""
    body = body if body is not None else f'{{"n": {next(_sequence)}}}'.encode()
    digest = hashlib.sha256(body).hexdigest()
    return Delivery.objects.create(
        endpoint=endpoint,
        body=body,
        body_sha256=digest,
        unique_body_sha256=digest,
        status=DeliveryStatus.PROCESSING,
    )


# --- Tencent callback bodies -----------------------------------------------------------------


def tencent_payload(
    *,
    session_id: str | None = None,
    status: str = "1",
    first_occur: str = "2024-03-01 10:00:00",
    duration: int | str = 0,
    recover: str = "0",
    instance_id: str = "ins-test0001",
    metric: str = "cpu_usage",
    value: str = "95",
    policy_id: str = "policy-test0001",
    region: str = "gz",
    namespace: str = "qce/cvm",
    **top_level: Any,
) -> dict[str, Any]:
    """A valid Tencent metric callback body (2024 shape); ``top_level`` sets or replaces keys."""
    payload: dict[str, Any] = {
        "sessionId": session_id if session_id is not None else f"S{next(_sequence):023d}",
        "alarmStatus": status,
        "alarmType": "metric",
        "alarmObjInfo": {
            "region": region,
            "namespace": namespace,
            "appId": "1250000000",
            "uin": "100000000001",
            "dimensions": {
                "unInstanceId": instance_id,
                "objId": "94f1133c-46cf-4c61-a4c1-d928183aba47",
                "objName": "172.21.30.15#588789",
                "deviceName": "web-1",
            },
        },
        "alarmPolicyInfo": {
            "policyId": policy_id,
            "policyType": "cvm_device",
            "policyName": "CPU high",
            "policyTypeCName": "云服务器-基础监控",
            "conditions": {
                "metricName": metric,
                "metricShowName": "CPU utilization",
                "calcType": ">",
                "calcValue": "90",
                "calcUnit": "%",
                "currentValue": value,
                "historyValue": "",
                "unit": "%",
                "period": "60",
                "periodNum": "1",
                "alarmNotifyType": "continuousAlarm",
                "alarmNotifyPeriod": 300,
            },
        },
        "firstOccurTime": first_occur,
        "durationTime": duration,
        "recoverTime": recover,
    }
    payload.update(top_level)
    return payload


def encode(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def post_callback(
    client: Client,
    path: str,
    body: bytes | dict[str, Any],
    *,
    content_type: str | None = "application/json",
    **extra: Any,
) -> Any:
    """POST a raw body to a callback path the way Tencent does (no CSRF, any Content-Type)."""
    data = body if isinstance(body, bytes) else encode(body)
    if content_type is None:
        # The test client always sets CONTENT_TYPE; an empty one is what WSGI gives for none.
        return client.generic("POST", path, data, **{"CONTENT_TYPE": "", **extra})
    return client.generic("POST", path, data, content_type=content_type, **extra)


# --- alarms through the lifecycle service (admin and UI tests) -------------------------------


def apply_alarm(endpoint: CallbackEndpoint, **overrides: Any) -> Alarm:
    """A new alarm with its own identity (a fresh instance id), through ``apply_notification``.

    ``overrides`` are :class:`Notification` fields (``namespace``, ``policy_name``, ``status``,
    ``kind``, ``event_name``...); pass ``instance_id`` to choose the identity yourself.
    """
    from alarms.services.lifecycle import apply_notification

    n = next(_sequence)
    instance_id = overrides.pop("instance_id", f"ins-ui{n:06d}")
    fields: dict[str, Any] = {
        "instance_id": instance_id,
        "instance_name": f"web-{n}",
        "dimensions": {"unInstanceId": instance_id},
        "first_occurred_at": DEFAULT_FIRST_OCCURRED_AT + timedelta(seconds=n),
    }
    fields.update(overrides)
    return apply_notification(endpoint=endpoint, notification=notification(**fields)).alarm
