"""Alertmanager webhook bodies POSTed to an ``alertmanager`` endpoint and processed (DESIGN §6).

Through the real callback URL, the delivery pipeline and the lifecycle service, with eager tasks.
"""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from alarms.choices import DeliveryStatus
from alarms.models import Alarm, Delivery
from alarms.services.endpoints import NewEndpoint, create_callback_endpoint
from tests.support.factories import post_callback

pytestmark = pytest.mark.django_db

ZERO = "0001-01-01T00:00:00Z"
STARTS = "2026-12-03T07:52:15.123456789Z"


def alert(
    instance: str, *, status: str = "firing", ends: str = ZERO, starts: str = STARTS
) -> dict[str, Any]:
    return {
        "status": status,
        "labels": {
            "alertname": "HostHighCpuLoad",
            "instance": instance,
            "job": "node",
            "severity": "warning",
            "region": "ap-shanghai",
        },
        "annotations": {"summary": f"Host high CPU load ({instance})"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=node_load1",
        "fingerprint": f"fp-{instance}",
    }


def body(*alerts: dict[str, Any]) -> dict[str, Any]:
    firing = any(a["status"] == "firing" for a in alerts)
    return {
        "version": "4",
        "groupKey": '{}:{alertname="HostHighCpuLoad"}',
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": "alarmhub",
        "groupLabels": {"alertname": "HostHighCpuLoad"},
        "commonLabels": {"alertname": "HostHighCpuLoad", "job": "node"},
        "commonAnnotations": {},
        "externalURL": "http://alertmanager.example.com:9093",
        "alerts": list(alerts),
    }


@pytest.fixture
def am_endpoint(db: None) -> NewEndpoint:
    return create_callback_endpoint(name="prometheus", source="alertmanager", timezone="UTC")


@pytest.fixture
def post(client: Any, am_endpoint: NewEndpoint, django_capture_on_commit_callbacks: Any) -> Any:
    def send(payload: dict[str, Any]) -> Delivery:
        with django_capture_on_commit_callbacks(execute=True):
            response = post_callback(client, am_endpoint.path, payload)
        assert response.status_code == 200, response.content
        assert response.json()["retCode"] == 0
        delivery = Delivery.objects.order_by("-pk").first()
        assert delivery is not None
        return delivery

    return send


def _alarm(instance: str) -> Alarm:
    return Alarm.objects.select_related("instance", "policy").get(instance__instance_id=instance)


def test_each_alert_of_a_body_becomes_one_alarm_mapped_as_section_6(post: Any) -> None:
    delivery = post(body(alert("10.0.0.1:9100"), alert("10.0.0.2:9100")))

    assert delivery.status == DeliveryStatus.PROCESSED, delivery.error
    assert Alarm.objects.count() == 2
    assert sorted(delivery.alarm_ids) == sorted(Alarm.objects.values_list("pk", flat=True))
    one = _alarm("10.0.0.1:9100")
    assert (one.status, one.kind, one.namespace, one.region, one.level) == (
        "firing",
        "metric",
        "prometheus/node",
        "ap-shanghai",
        "warning",
    )
    assert one.policy.name == "HostHighCpuLoad"
    assert one.first_occurred_at == datetime(2026, 12, 3, 7, 52, 15, 123456, tzinfo=UTC)
    assert one.extras["annotations"]["summary"] == "Host high CPU load (10.0.0.1:9100)"
    assert one.extras["generator_url"].startswith("http://prometheus.example.com")
    assert one.endpoint.source == "alertmanager"


def test_resolved_alert_recovers_its_alarm_at_ends_at(post: Any) -> None:
    post(body(alert("10.0.0.1:9100")))

    post(body(alert("10.0.0.1:9100", status="resolved", ends="2026-12-03T08:02:15Z")))

    alarm = _alarm("10.0.0.1:9100")
    assert (alarm.status, alarm.trigger_seen, alarm.notification_count) == ("recovered", True, 2)
    assert alarm.recovered_at == datetime(2026, 12, 3, 8, 2, 15, tzinfo=UTC)


def test_group_resend_with_one_alert_added_is_a_repeat_for_the_others(post: Any) -> None:
    post(body(alert("10.0.0.1:9100")))
    first = _alarm("10.0.0.1:9100")

    # group_interval: the group changed (a new member), so Alertmanager sends all of it again.
    post(body(alert("10.0.0.1:9100"), alert("10.0.0.2:9100")))

    assert Alarm.objects.count() == 2
    again = _alarm("10.0.0.1:9100")
    assert again.pk == first.pk
    assert again.status == "firing"
    assert _alarm("10.0.0.2:9100").status == "firing"


def test_repeat_interval_resend_of_the_same_body_adds_no_alarm(post: Any) -> None:
    post(body(alert("10.0.0.1:9100")))
    # repeat_interval: the same group, unchanged, sent again (byte-identical: a duplicate).
    second = post(body(alert("10.0.0.1:9100")))

    assert second.status in (DeliveryStatus.PROCESSED, DeliveryStatus.DUPLICATE)
    assert Alarm.objects.count() == 1
    assert _alarm("10.0.0.1:9100").status == "firing"


def test_two_hosts_firing_one_rule_are_two_alarms_and_one_recovery_leaves_the_other(
    post: Any,
) -> None:
    post(body(alert("10.0.0.1:9100"), alert("10.0.0.2:9100")))

    post(
        body(
            alert("10.0.0.1:9100", status="resolved", ends="2026-12-03T08:00:00Z"),
            alert("10.0.0.2:9100"),
        )
    )

    assert _alarm("10.0.0.1:9100").status == "recovered"
    other = _alarm("10.0.0.2:9100")
    assert (other.status, other.recovered_at) == ("firing", None)
    assert _alarm("10.0.0.1:9100").fingerprint != other.fingerprint


def test_a_new_starts_at_for_the_same_labels_is_a_new_alarm(post: Any) -> None:
    post(body(alert("10.0.0.1:9100")))

    post(body(alert("10.0.0.1:9100", starts="2026-12-04T01:00:00Z")))

    alarms = Alarm.objects.order_by("first_occurred_at")
    assert alarms.count() == 2
    assert len({alarm.fingerprint for alarm in alarms}) == 1


def test_recovery_before_the_trigger_ends_recovered(post: Any) -> None:
    post(body(alert("10.0.0.1:9100", status="resolved", ends="2026-12-03T08:00:00Z")))
    post(body(alert("10.0.0.1:9100")))

    alarm = _alarm("10.0.0.1:9100")
    assert alarm.status == "recovered"
    assert alarm.notification_count == 2


@pytest.mark.parametrize(
    ("payload", "error"),
    [
        ({"receiver": "alarmhub", "status": "firing"}, "not an Alertmanager webhook body"),
        ({"alerts": []}, "no alerts"),
        ({"alerts": [{"status": "pending", "labels": {"a": "b"}}]}, "alert 0: status"),
    ],
)
def test_a_json_object_that_is_not_a_webhook_body_is_a_failed_delivery(
    post: Any, payload: dict[str, Any], error: str
) -> None:
    delivery = post(payload)

    assert delivery.status == DeliveryStatus.FAILED
    assert error in delivery.error
    assert not Alarm.objects.exists()


def test_a_tencent_body_on_an_alertmanager_endpoint_is_a_failed_delivery(post: Any) -> None:
    tencent = {"sessionId": "x", "alarmStatus": "1", "alarmObjInfo": {}, "firstOccurTime": "t"}

    delivery = post(copy.deepcopy(tencent))

    assert delivery.status == DeliveryStatus.FAILED
    assert "no 'alerts' list" in delivery.error
