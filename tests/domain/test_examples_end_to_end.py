"""Every example body in alarms/sources/tencent/examples, POSTed to the callback URL and processed.

Each one ends as the alarm a person reading the body would expect, or, for bodies that are not
alarm callbacks, as a failed delivery whose error says why.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from alarms.choices import DeliveryStatus
from alarms.models import Alarm, Delivery
from alarms.services.endpoints import NewEndpoint
from tests.support.factories import FIXTURES, fixture_bytes, fixture_payload, post_callback

pytestmark = pytest.mark.django_db


def cst(text: str) -> datetime:
    """A Tencent local time (the endpoint's default zone, Asia/Shanghai) as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai")).astimezone(UTC)


# What a person expects from each alarm body: kind, status, namespace, region, subject
# (metric or event name), instance id, first occurrence (local), current value.
EXPECTED_ALARMS: dict[str, dict[str, Any]] = {
    "constructed_event_eventbridge_stateless": {
        # EventBridge's stateless status "-": the event fires and has no recovery to wait for.
        "kind": "event",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "gz",
        "event_name": "guest_reboot",
        "instance_id": "ins-evbr0001",
        "instance_name": "batch-7",
        "policy_id": "",
        "policy_name": "cvm-reboot-rule",
        "first": "2025-06-01 12:00:00",
        "recovered_at": None,
    },
    "constructed_metric_apm_service_operation": {
        "kind": "metric",
        "status": "firing",
        "namespace": "performance_metric",
        "region": "sh",
        "metric_name": "service_request_duration_p99",
        "instance_id": "order-service",
        "first": "2025-06-01 10:00:00",
        "current_value": "1240",
        "dimensions": {
            "tapm.instance.key": "apm-Qx7rT2bLm",
            "service.name": "order-service",
            "span.kind": "server",
            "operation": "POST /api/orders",
        },
    },
    "constructed_metric_object_level_id_instance": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "bj",
        "metric_name": "mem_usage",
        "instance_id": "ins-obj1eve1",
        "first": "2025-06-01 11:00:00",
        "current_value": "93.4",
        "level": "Serious",
    },
    "constructed_metric_tiered_alert_id_remind": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cdb",
        "region": "sg",
        "metric_name": "cpu_use_rate",
        "instance_id": "cdb-tier0001",
        "first": "2025-06-01 13:00:00",
        "threshold": "70",
        "level": "Remind",
    },
    "constructed_metric_tiered_alert_id_serious": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cdb",
        "region": "sg",
        "metric_name": "cpu_use_rate",
        "instance_id": "cdb-tier0001",
        "first": "2025-06-01 13:00:00",
        "threshold": "90",
        "level": "Serious",
    },
    "constructed_prometheus_tmp_alert_firing": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/prometheus",
        "region": "gz",
        "metric_name": "NodeDiskAlmostFull",
        "instance_id": "10.0.0.12:9100",
        "policy_id": "alert-k3m9x2qa",
        "first": "2025-06-01 09:30:00",
        "current_value": "91.2",
        "level": "",
    },
    "constructed_metric_clb_public_listener": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/lb_public",
        "region": "gz",
        "metric_name": "PLACEHOLDER_metric_name",
        "instance_id": "118.25.31.161:443/https",
        "first": "2023-01-01 12:00:00",
        "current_value": "120",
        "threshold": "100",
        "unit": "Mbps",
    },
    "constructed_metric_cmongo_instance": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cmongo",
        "region": "gz",
        "metric_name": "PLACEHOLDER_metric_name",
        "instance_id": "cmgo-ajc6okuy",
        "first": "2023-01-01 12:00:00",
        "current_value": "85.1",
    },
    "constructed_metric_cvm_cpu_continuous_repeat": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "gz",
        "metric_name": "cpu_usage",
        "instance_id": "ins-aoaaah55",
        "first": "2017-03-09 07:00:00",
        "current_value": "97.5",
        "duration_seconds": 600,
    },
    "constructed_metric_redis_mem_edition": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/redis_mem",
        "region": "gz",
        "metric_name": "PLACEHOLDER_metric_name",
        "instance_id": "crs-1amp2588",
        "first": "2023-01-01 12:00:00",
        "current_value": "91.0",
    },
    "doc_event_cvm_ping_unreachable_trigger": {
        "kind": "event",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "gz",
        "event_name": "ping_unreachable",
        "event_display_name": "ping不可达",
        "instance_id": "ins-pftdvqa2",
        "first": "2018-06-15 16:32:06",
    },
    "doc_metric_cvm_cpu_legacy_2018": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "gz",
        "metric_name": "cpu usage",
        "instance_id": "ins-o9p3rg3m",
        "first": "2017-03-09 07:00:00",
        "current_value": "100",
        "duration_seconds": 500,
    },
    "doc_metric_cvm_cpu_tcop_2023": {
        # alarmStatus "1" with a populated recoverTime (a doc inconsistency): still firing.
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "gz",
        "metric_name": "cpu_usage",
        "instance_id": "ins-o9p3rg3m",
        "first": "2017-03-09 07:00:00",
        "current_value": "100",
        "recovered_at": None,
    },
    "doc_metric_cvm_cpu_v2_2020": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "gz",
        "metric_name": "cpu_usage",
        "instance_id": "ins-o9p3rg3m",
        "first": "2017-03-09 07:00:00",
        "current_value": "100",
    },
    "event_cvm_ping_unreachable_status0_real": {
        # A recovery whose trigger we never saw; no policyId, no namespace, no recovery time.
        "kind": "event",
        "status": "recovered",
        "namespace": "qce/cvm",
        "region": "hk",
        "event_name": "ping_unreachable",
        "instance_id": "ins-7hw5sju6",
        "instance_name": "Unnamed33",
        "policy_id": "",
        "policy_name": "AlarmForTetHoliday",
        "first": "2021-04-20 10:23:24",
        "trigger_seen": False,
        "recovered_at": None,
    },
    "metric_cdb_cpu_use_rate_trigger_real_intl": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cdb",
        "region": "sg",
        "metric_name": "cpu_use_rate",
        "instance_id": "cdb-59ds6dfv",
        "policy_id": "policy-r9mwiupe",
        "first": "2021-06-27 23:05:00",
        "current_value": "100",
    },
    "metric_cvm_disk_usage_trigger_repeat_real": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/cvm",
        "region": "hk",
        "metric_name": "disk_usage",
        "metric_display_name": "DiskUtilization",
        "instance_id": "ins-4ap7abk6",
        "instance_name": "Unnamed1",
        "first": "2021-05-05 04:37:00",
        "current_value": "96.739",
        "duration_seconds": 86400,
    },
    "metric_cvm_disk_usage_recovery_real": {
        "kind": "metric",
        "status": "recovered",
        "namespace": "qce/cvm",
        "region": "hk",
        "metric_name": "disk_usage",
        "instance_id": "ins-4ap7abk6",
        "first": "2021-05-05 04:37:00",
        "recovered_at": "2021-05-06 08:46:00",
        "current_value": "26.14",
        "duration_seconds": 101340,
        "trigger_seen": False,
    },
    "metric_cvm_network_qce_lb_trigger_tianji_2024": {
        "kind": "metric",
        "status": "firing",
        "namespace": "qce/lb",
        "region": "sh",
        "metric_name": "outratio",
        "instance_id": "ins-n0y0008z",
        "instance_name": "Tailchat",
        "first": "2024-08-07 07:55:00",
        "current_value": "95.255",
    },
}

# Bodies that are JSON objects but not alarm callbacks: stored, answered 200, failed with a reason.
EXPECTED_FAILURES: dict[str, str] = {
    "constructed_unknown_alarm_type_body": "alarmType must be 'metric', 'event' or 'prometheus'",
    "custom_content_template_body_fixture": "not a Tencent alarm: missing",
    "doc_event_vpc_peering_dimensions_fragment": "not a Tencent alarm: missing",
    "response_ack_legacy_contract": "not a Tencent alarm: missing",
}


def test_every_example_file_has_an_expectation() -> None:
    names = {path.stem for path in FIXTURES.glob("*.json")}

    assert names == set(EXPECTED_ALARMS) | set(EXPECTED_FAILURES)


def _post(client: Any, endpoint: NewEndpoint, capture: Any, name: str) -> Any:
    with capture(execute=True):
        response = post_callback(client, endpoint.path, fixture_bytes(name))
    assert response.status_code == 200, response.content
    session_id = fixture_payload(name).get("sessionId", "")
    assert response.json() == {"sessionId": session_id, "retCode": 0}
    return response


@pytest.mark.parametrize("name", sorted(EXPECTED_ALARMS))
def test_example_becomes_the_expected_alarm(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any, name: str
) -> None:
    expected = dict(EXPECTED_ALARMS[name])

    _post(client, endpoint, django_capture_on_commit_callbacks, name)

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.PROCESSED, delivery.error
    alarm = Alarm.objects.select_related("instance", "policy").get()
    assert delivery.alarm_ids == [alarm.pk]
    assert alarm.first_occurred_at == cst(expected.pop("first"))
    if "recovered_at" in expected:
        recovered = expected.pop("recovered_at")
        assert alarm.recovered_at == (cst(recovered) if recovered else None)
    assert alarm.instance.instance_id == expected.pop("instance_id")
    if "instance_name" in expected:
        assert alarm.instance.name == expected.pop("instance_name")
    if "policy_id" in expected:
        assert alarm.policy.policy_id == expected.pop("policy_id")
    if "policy_name" in expected:
        assert alarm.policy.name == expected.pop("policy_name")
    expected.setdefault("trigger_seen", True)
    actual = {field: getattr(alarm, field) for field in expected}
    assert actual == expected
    assert alarm.notification_count == 1


@pytest.mark.parametrize("name", sorted(EXPECTED_FAILURES))
def test_example_that_is_not_an_alarm_becomes_a_failed_delivery_with_a_clear_error(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any, name: str
) -> None:
    _post(client, endpoint, django_capture_on_commit_callbacks, name)

    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.error.startswith(EXPECTED_FAILURES[name])
    assert bytes(delivery.body or b"") == fixture_bytes(name)
    assert not Alarm.objects.exists()


def test_all_examples_on_one_endpoint_pair_into_the_expected_alarms(
    client: Any, endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any
) -> None:
    for name in sorted(EXPECTED_ALARMS) + sorted(EXPECTED_FAILURES):
        _post(client, endpoint, django_capture_on_commit_callbacks, name)

    statuses = list(Delivery.objects.values_list("status", flat=True))
    assert statuses.count(DeliveryStatus.PROCESSED) == len(EXPECTED_ALARMS)
    assert statuses.count(DeliveryStatus.FAILED) == len(EXPECTED_FAILURES)
    # Two pairs share an identity and first occurrence: the real disk-usage trigger and its
    # recovery, and the 2020 and 2023 doc samples of the same CPU alarm (policy, instance,
    # metric and firstOccurTime all equal). The 2018 sample names its metric "cpu usage".
    # The two tiers of one tiered policy differ only in level: two alarms, never one.
    assert Alarm.objects.count() == len(EXPECTED_ALARMS) - 2
    tiers = Alarm.objects.filter(instance__instance_id="cdb-tier0001")
    assert sorted(tiers.values_list("level", flat=True)) == ["Remind", "Serious"]
    disk = Alarm.objects.get(metric_name="disk_usage")
    assert (disk.status, disk.notification_count, disk.duration_seconds) == ("recovered", 2, 101340)
    cpu = Alarm.objects.get(metric_name="cpu_usage", instance__instance_id="ins-o9p3rg3m")
    assert (cpu.status, cpu.notification_count) == ("firing", 2)
    assert Alarm.objects.filter(status="firing").count() == len(EXPECTED_ALARMS) - 2 - 2
