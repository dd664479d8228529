"""The Alertmanager webhook parser: pure, so no database and no request cycle."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms.sources.alertmanager import parser as alertmanager
from alarms.sources.base import NotAnAlarm, Notification

SHANGHAI = ZoneInfo("Asia/Shanghai")
ENDPOINT = 7

FIRING_LABELS = {
    "alertname": "HostHighCpuLoad",
    "instance": "10.0.0.11:9100",
    "job": "node",
    "region": "ap-shanghai",
    "severity": "warning",
    "team": "infra",
}

# The shape of the webhook example in the Alertmanager docs ("webhook_config"), with real values.
EXAMPLE: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}/{severity="warning"}:{alertname="HostHighCpuLoad"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "alarmhub",
    "groupLabels": {"alertname": "HostHighCpuLoad"},
    "commonLabels": {"alertname": "HostHighCpuLoad", "job": "node", "severity": "warning"},
    "commonAnnotations": {},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": FIRING_LABELS,
            "annotations": {
                "summary": "Host high CPU load (instance 10.0.0.11:9100)",
                "description": "CPU load is > 80%\n  VALUE = 93.5",
                "runbook_url": "https://runbooks.example.com/host-high-cpu",
            },
            "startsAt": "2026-12-03T07:52:15.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=node_load1+%3E+4",
            "fingerprint": "5c4e3b2a1f0d9e8c",
        },
        {
            "status": "resolved",
            "labels": {**FIRING_LABELS, "instance": "10.0.0.12:9100"},
            "annotations": {
                "summary": "Host high CPU load (instance 10.0.0.12:9100)",
                "description": "CPU load is > 80%\n  VALUE = 81.2",
            },
            "startsAt": "2026-12-03T07:40:00Z",
            "endsAt": "2026-12-03T08:05:30.5+00:00",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=node_load1+%3E+4",
            "fingerprint": "9a8b7c6d5e4f3a2b",
        },
    ],
}


def body(*alerts: dict[str, Any], **top: Any) -> dict[str, Any]:
    """The example body with its alerts replaced (and top-level keys; ``...`` deletes one)."""
    payload = copy.deepcopy(EXAMPLE)
    if alerts:
        payload["alerts"] = list(alerts)
    for key, value in top.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def alert(index: int = 0, **changes: Any) -> dict[str, Any]:
    """One of the example's alerts with fields replaced (value ``...`` deletes the field)."""
    result = copy.deepcopy(EXAMPLE["alerts"][index])
    for key, value in changes.items():
        if value is ...:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def parse(payload: Any, tz: Any = SHANGHAI) -> list[Notification]:
    return alertmanager.parse(payload, default_tz=tz)


def one(tz: Any = SHANGHAI, **changes: Any) -> Notification:
    (notification,) = parse(body(alert(**changes)), tz)
    return notification


def with_labels(labels: dict[str, Any], **changes: Any) -> Notification:
    return one(labels=labels, **changes)


def fingerprint(labels: dict[str, Any], **changes: Any) -> str:
    return with_labels(labels, **changes).fingerprint(ENDPOINT)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def rejected(payload: Any) -> str:
    with pytest.raises(NotAnAlarm) as info:
        parse(payload)
    return str(info.value)


# --- the example body --------------------------------------------------------------------------


def test_module_names_the_source() -> None:
    assert alertmanager.NAME == "alertmanager"
    assert alertmanager.name == "alertmanager"


def test_each_alert_of_the_body_becomes_a_notification_in_order() -> None:
    firing, resolved = parse(EXAMPLE)
    assert (firing.status, resolved.status) == ("firing", "recovered")
    assert (firing.instance_id, resolved.instance_id) == ("10.0.0.11:9100", "10.0.0.12:9100")


def test_firing_alert_maps_every_field() -> None:
    firing = parse(EXAMPLE)[0]
    assert firing.source == "alertmanager"
    assert firing.kind == "metric"
    assert firing.status == "firing"
    assert firing.first_occurred_at == utc(2026, 12, 3, 7, 52, 15, 123456)
    assert firing.recovered_at is None
    assert firing.duration_seconds is None
    assert firing.policy_id == ""
    assert firing.policy_name == "HostHighCpuLoad"
    assert firing.policy_type == ""
    assert firing.metric_name == "HostHighCpuLoad"
    assert firing.metric_display_name == "Host high CPU load (instance 10.0.0.11:9100)"
    assert firing.event_name == ""
    assert firing.event_display_name == ""
    assert firing.instance_id == "10.0.0.11:9100"
    assert firing.instance_name == "10.0.0.11:9100"
    assert firing.level == "warning"
    assert firing.namespace == "prometheus/node"
    assert firing.region == "ap-shanghai"
    assert firing.dimensions == {
        "instance": "10.0.0.11:9100",
        "region": "ap-shanghai",
        "team": "infra",
    }
    assert firing.extras == {
        "receiver": "alarmhub",
        "external_url": "http://alertmanager.example.com:9093",
        "group_key": '{}/{severity="warning"}:{alertname="HostHighCpuLoad"}',
        "webhook_version": "4",
        "alertmanager_fingerprint": "5c4e3b2a1f0d9e8c",
        "generator_url": "http://prometheus.example.com:9090/graph?g0.expr=node_load1+%3E+4",
        "annotations": {
            "description": "CPU load is > 80%\n  VALUE = 93.5",
            "runbook_url": "https://runbooks.example.com/host-high-cpu",
            "summary": "Host high CPU load (instance 10.0.0.11:9100)",
        },
    }


def test_resolved_alert_recovers_at_ends_at() -> None:
    resolved = parse(EXAMPLE)[1]
    assert resolved.status == "recovered"
    assert resolved.first_occurred_at == utc(2026, 12, 3, 7, 40)
    assert resolved.recovered_at == utc(2026, 12, 3, 8, 5, 30, 500000)
    assert resolved.duration_seconds == 25 * 60 + 30
    assert resolved.session_id.startswith("recovered:2026-12-03T08:05:30.500000Z:")


def test_identity_fields_come_from_the_labels() -> None:
    assert parse(EXAMPLE)[0].identity_fields() == {
        "source": "alertmanager",
        "kind": "metric",
        "policy": "name:HostHighCpuLoad",
        "namespace": "prometheus/node",
        "region": "ap-shanghai",
        "dimensions": {"instance": "10.0.0.11:9100", "region": "ap-shanghai", "team": "infra"},
        "subject": "HostHighCpuLoad",
        "level": "warning",
    }


def test_values_are_plain_json() -> None:
    for notification in parse(EXAMPLE):
        for value in (notification.dimensions, notification.extras):
            assert json.loads(json.dumps(value)) == value
        assert all(isinstance(v, str) for v in notification.dimensions.values())
        assert all(isinstance(v, str) for v in notification.extras["annotations"].values())


# --- identity ----------------------------------------------------------------------------------


def test_alerts_differing_only_in_instance_have_different_fingerprints() -> None:
    """The peer product's bug: pairing by alert name lets one host's recovery close another's."""
    firing, resolved = parse(EXAMPLE)
    assert firing.policy_name == resolved.policy_name
    assert firing.fingerprint(ENDPOINT) != resolved.fingerprint(ENDPOINT)


@pytest.mark.parametrize("label", sorted(FIRING_LABELS))
def test_changing_any_label_changes_the_fingerprint(label: str) -> None:
    changed = {**FIRING_LABELS, label: FIRING_LABELS[label] + "-2"}
    assert fingerprint(FIRING_LABELS) != fingerprint(changed)


@pytest.mark.parametrize("label", sorted(FIRING_LABELS))
def test_dropping_any_label_changes_the_fingerprint(label: str) -> None:
    dropped = {k: v for k, v in FIRING_LABELS.items() if k != label}
    assert fingerprint(FIRING_LABELS) != fingerprint(dropped)


def test_adding_a_label_changes_the_fingerprint() -> None:
    assert fingerprint(FIRING_LABELS) != fingerprint({**FIRING_LABELS, "device": "sda"})


def test_label_order_does_not_matter() -> None:
    reordered = dict(reversed(FIRING_LABELS.items()))
    assert with_labels(reordered) == with_labels(FIRING_LABELS)
    assert list(with_labels(reordered).dimensions) == sorted(with_labels(reordered).dimensions)


def test_firing_and_resolved_of_one_alert_share_a_fingerprint() -> None:
    firing = one()
    resolved = one(status="resolved", endsAt="2026-12-03T08:00:00Z")
    assert firing.fingerprint(ENDPOINT) == resolved.fingerprint(ENDPOINT)
    assert firing.first_occurred_at == resolved.first_occurred_at
    assert resolved.rank() > firing.rank()


def test_fingerprint_includes_the_endpoint() -> None:
    assert one().fingerprint(1) != one().fingerprint(2)


def test_alertmanager_fingerprint_and_annotations_are_not_identity() -> None:
    other = one(fingerprint="ffffffffffffffff", annotations={"summary": "another text"})
    assert other.fingerprint(ENDPOINT) == one().fingerprint(ENDPOINT)
    assert other.extras["alertmanager_fingerprint"] == "ffffffffffffffff"


def test_region_and_cluster_labels_are_not_confused() -> None:
    base = {"alertname": "KubePodCrashLooping", "pod": "api-0"}
    assert fingerprint({**base, "region": "eu"}) != fingerprint({**base, "cluster": "eu"})
    both = fingerprint({**base, "region": "eu", "cluster": "eu"})
    assert both != fingerprint({**base, "cluster": "eu"})
    assert both != fingerprint({**base, "region": "eu"})


@pytest.mark.parametrize("key", ["objName", "deviceName", "objDetail"])
def test_labels_named_like_display_only_dimensions_still_identify(key: str) -> None:
    labels = {"alertname": "SnmpIfDown", key: "eth0"}
    notification = with_labels(labels)
    assert notification.dimensions == {f"label:{key}": "eth0"}
    assert fingerprint(labels) != fingerprint({**labels, key: "eth1"})


def test_escaped_label_names_cannot_collide_with_real_ones() -> None:
    escaped = with_labels({"alertname": "A", "label:deviceName": "x"})
    assert escaped.dimensions == {"label:label:deviceName": "x"}
    assert escaped.fingerprint(ENDPOINT) != fingerprint({"alertname": "A", "deviceName": "x"})


# --- field mapping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "region"),
    [
        ({"alertname": "A", "region": "eu-west-1", "cluster": "prod-1"}, "eu-west-1"),
        ({"alertname": "A", "cluster": "prod-1"}, "prod-1"),
        ({"alertname": "A", "region": "", "cluster": "prod-1"}, "prod-1"),
        ({"alertname": "A"}, ""),
    ],
)
def test_region_is_the_region_label_else_cluster(labels: dict[str, str], region: str) -> None:
    notification = with_labels(labels)
    assert notification.region == region
    # Both labels stay dimensions: the region field cannot say which one it came from.
    assert notification.dimensions == {k: v for k, v in labels.items() if k != "alertname" and v}


@pytest.mark.parametrize(
    ("labels", "namespace"),
    [
        ({"alertname": "A", "job": "node"}, "prometheus/node"),
        ({"alertname": "A", "job": "kube-state-metrics"}, "prometheus/kube-state-metrics"),
        ({"alertname": "A"}, "prometheus"),
        ({"alertname": "A", "job": ""}, "prometheus"),
    ],
)
def test_namespace_is_prometheus_and_the_job(labels: dict[str, str], namespace: str) -> None:
    assert with_labels(labels).namespace == namespace
    assert "job" not in with_labels(labels).dimensions


def test_level_is_the_severity_label_or_empty() -> None:
    assert with_labels({"alertname": "A", "severity": "critical"}).level == "critical"
    assert with_labels({"alertname": "A"}).level == ""


def test_every_other_label_is_a_dimension() -> None:
    labels = {
        "alertname": "KubePodCrashLooping",
        "severity": "critical",
        "job": "kube-state-metrics",
        "namespace": "payments",
        "pod": "api-7d9f-x2",
        "container": "api",
        "instance": "10.1.2.3:8080",
    }
    assert with_labels(labels).dimensions == {
        "namespace": "payments",
        "pod": "api-7d9f-x2",
        "container": "api",
        "instance": "10.1.2.3:8080",
    }


def test_alert_without_alertname_is_still_an_alert() -> None:
    notification = with_labels({"instance": "db-1:9187", "job": "postgres"})
    assert notification.policy_name == ""
    assert notification.metric_name == ""
    assert notification.identity_fields()["policy"] == "name:"
    assert notification.dimensions == {"instance": "db-1:9187"}


def test_alert_without_instance_has_no_instance() -> None:
    notification = with_labels({"alertname": "Watchdog"})
    assert (notification.instance_id, notification.instance_name) == ("", "")
    assert notification.dimensions == {}


def test_metric_display_name_is_the_summary_annotation() -> None:
    assert one(annotations={"description": "no summary"}).metric_display_name == ""
    assert one(annotations=...).metric_display_name == ""
    assert one(annotations=...).extras["annotations"] == {}


def test_non_string_values_are_stored_as_text() -> None:
    notification = one(
        labels={"alertname": "A", "port": 443, "primary": True, "ratio": 0.5, "tags": ["a", "b"]},
        annotations={"value": 93.5, "count": 3, "none": None, "detail": {"b": 1, "a": 2}},
        fingerprint=123,
    )
    assert notification.dimensions == {
        "port": "443",
        "primary": "true",
        "ratio": "0.5",
        "tags": '["a","b"]',
    }
    assert notification.extras["annotations"] == {
        "count": "3",
        "detail": '{"a":2,"b":1}',
        "none": "",
        "value": "93.5",
    }
    assert notification.extras["alertmanager_fingerprint"] == "123"


def test_non_string_alertname_severity_and_job() -> None:
    notification = with_labels({"alertname": 5, "severity": 2, "job": 9})
    assert (notification.policy_name, notification.level, notification.namespace) == (
        "5",
        "2",
        "prometheus/9",
    )


def test_number_and_string_label_values_are_the_same_value() -> None:
    assert fingerprint({"alertname": "A", "port": 443}) == fingerprint(
        {"alertname": "A", "port": "443"}
    )


def test_null_and_empty_labels_do_not_exist() -> None:
    plain = with_labels({"alertname": "A", "instance": "h:1"})
    assert with_labels({"alertname": "A", "instance": "h:1", "team": ""}) == plain
    assert with_labels({"alertname": "A", "instance": "h:1", "team": None}) == plain


def test_missing_group_fields_are_empty_text() -> None:
    (notification,) = parse(
        {"alerts": [alert()]},
    )
    assert {key: notification.extras[key] for key in ("receiver", "external_url", "group_key")} == {
        "receiver": "",
        "external_url": "",
        "group_key": "",
    }
    assert notification.extras["webhook_version"] == ""


def test_another_version_with_the_same_shape_is_read_and_noted() -> None:
    (notification,) = parse(body(alert(), version="5"))
    assert notification.extras["webhook_version"] == "5"
    assert notification.policy_name == "HostHighCpuLoad"


# --- times -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-03T07:52:15Z", utc(2026, 12, 3, 7, 52, 15)),
        ("2026-12-03T07:52:15.123456789Z", utc(2026, 12, 3, 7, 52, 15, 123456)),
        ("2026-12-03T07:52:15.999999999Z", utc(2026, 12, 3, 7, 52, 15, 999999)),
        ("2026-12-03T07:52:15.5Z", utc(2026, 12, 3, 7, 52, 15, 500000)),
        ("2026-12-03t07:52:15z", utc(2026, 12, 3, 7, 52, 15)),
        ("2026-12-03T15:52:15.123+08:00", utc(2026, 12, 3, 7, 52, 15, 123000)),
        ("2026-12-03T02:22:15-05:30", utc(2026, 12, 3, 7, 52, 15)),
        ("2026-12-03T07:52:15+0000", utc(2026, 12, 3, 7, 52, 15)),
        ("2026-12-03 07:52:15Z", utc(2026, 12, 3, 7, 52, 15)),
        (" 2026-12-03T07:52:15Z ", utc(2026, 12, 3, 7, 52, 15)),
        # No offset: a local time in the endpoint's zone (Asia/Shanghai, UTC+8).
        ("2026-12-03T15:52:15", utc(2026, 12, 3, 7, 52, 15)),
        ("2026-12-03T15:52:15.000001", utc(2026, 12, 3, 7, 52, 15, 1)),
    ],
)
def test_starts_at_is_rfc3339_in_utc(text: str, expected: datetime) -> None:
    when = one(startsAt=text).first_occurred_at
    assert when == expected
    assert when.utcoffset() == timedelta(0)


def test_time_without_offset_uses_the_default_zone() -> None:
    when = one(tz=timezone(timedelta(hours=-3)), startsAt="2026-12-03T04:52:15").first_occurred_at
    assert when == utc(2026, 12, 3, 7, 52, 15)


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "",
        "2026-02-30T00:00:00Z",
        "2026-12-03T25:00:00Z",
        "2026-12-03T07:52:15+24:00",
        "2026-12-03T07:52:15+08:61",
        "2026-12-03T07:52:15.Z",
        "2026-12-03",
        1764748335,
        None,
        {"seconds": 1},
    ],
)
def test_unreadable_starts_at_is_not_an_alarm(value: Any) -> None:
    message = rejected(body(alert(), alert(startsAt=value)))
    assert message.startswith("alert 1: startsAt must be an RFC 3339 time")


def test_missing_starts_at_is_not_an_alarm() -> None:
    assert rejected(body(alert(startsAt=...))) == (
        "alert 0: startsAt must be an RFC 3339 time like '2026-12-03T07:52:15.123456789Z', "
        "got nothing"
    )


def test_zero_starts_at_is_not_an_alarm() -> None:
    assert "zero time" in rejected(body(alert(startsAt="0001-01-01T00:00:00Z")))


def test_out_of_range_starts_at_is_not_an_alarm() -> None:
    assert "startsAt" in rejected(body(alert(startsAt="0001-01-01T00:00:00+01:00")))


@pytest.mark.parametrize(
    "ends_at", ["0001-01-01T00:00:00Z", "0001-01-01T00:00:00.000000000Z", None, ...]
)
def test_resolved_with_zero_ends_at_has_no_recovery_time(ends_at: str) -> None:
    notification = one(status="resolved", endsAt=ends_at)
    assert notification.status == "recovered"
    assert (notification.recovered_at, notification.duration_seconds) == (None, None)
    assert "unreadable_ends_at" not in notification.extras


@pytest.mark.parametrize("ends_at", ["soon", 5, "", {"at": 1}])
def test_resolved_with_unreadable_ends_at_is_still_a_recovery(ends_at: Any) -> None:
    notification = one(status="resolved", endsAt=ends_at)
    assert notification.status == "recovered"
    assert (notification.recovered_at, notification.duration_seconds) == (None, None)
    assert isinstance(notification.extras["unreadable_ends_at"], str)


def test_resolved_ending_before_it_started_has_no_duration() -> None:
    notification = one(status="resolved", endsAt="2026-12-03T07:00:00Z")
    assert notification.recovered_at == utc(2026, 12, 3, 7)
    assert notification.duration_seconds is None


def test_firing_ends_at_is_ignored() -> None:
    """Alertmanager zeroes it; another sender's lease must not make repeats look different."""
    zero = one(endsAt="0001-01-01T00:00:00Z")
    assert one(endsAt="2026-12-03T08:10:00Z") == zero
    assert one(endsAt="garbage") == zero
    assert one(endsAt=...) == zero
    assert zero.recovered_at is None


# --- status ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "status"), [("firing", "firing"), ("resolved", "recovered")])
def test_status_mapping(raw: str, status: str) -> None:
    assert one(status=raw, endsAt="2026-12-03T08:00:00Z").status == status


@pytest.mark.parametrize(
    ("value", "shown"),
    [("pending", "'pending'"), ("inactive", "'inactive'"), (1, "1"), (None, "nothing")],
)
def test_other_statuses_are_not_alarms(value: Any, shown: str) -> None:
    assert rejected(body(alert(status=value))) == (
        f"alert 0: status must be 'firing' or 'resolved', got {shown}"
    )


def test_missing_status_is_not_an_alarm() -> None:
    assert "got nothing" in rejected(body(alert(status=...)))


# --- bodies and alerts that are not alarms -----------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"receiver": "x", "status": "firing"}, "no 'alerts' list"),
        ({"alerts": None}, "no 'alerts' list"),
        ({"alerts": {"0": {}}}, "'alerts' must be a list, got an object"),
        ({"alerts": "none"}, "'alerts' must be a list, got 'none'"),
        ({"alerts": []}, "no alerts"),
        ({"sessionId": "abc", "alarmStatus": "1"}, "no 'alerts' list"),
        ([1, 2], "the body is an array, not an object"),
        ("text", "not an object"),
    ],
)
def test_bodies_without_an_alerts_list_are_not_alarms(payload: Any, message: str) -> None:
    assert message in rejected(payload)


@pytest.mark.parametrize("item", [None, "alert", 3, ["status", "firing"]])
def test_an_alert_that_is_not_an_object_is_named(item: Any) -> None:
    assert rejected(body(alert(), item)).startswith("alert 1 must be an object, got ")


@pytest.mark.parametrize("labels", [..., None, {}, {"alertname": ""}, {"a": None}])
def test_an_alert_without_labels_is_not_an_alarm(labels: Any) -> None:
    assert rejected(body(alert(labels=labels))) == (
        "alert 0 has no labels: an alert is identified by its labels"
    )


@pytest.mark.parametrize("labels", [["alertname", "A"], "alertname=A", 1])
def test_labels_must_be_an_object(labels: Any) -> None:
    assert rejected(body(alert(labels=labels))).startswith("alert 0: labels must be an object")


def test_annotations_must_be_an_object() -> None:
    message = rejected(body(alert(annotations=["summary"])))
    assert message == "alert 0: annotations must be an object, got an array"


def test_a_number_too_long_to_read_is_not_an_alarm() -> None:
    message = rejected(body(alert(labels={"alertname": "A", "n": 10**5000})))
    assert message == "alert 0: label 'n' is a number too long to read"


def test_one_bad_alert_rejects_the_body() -> None:
    assert rejected(body(alert(0), alert(1), alert(0, status="nope"))).startswith("alert 2:")


# --- repeats and ranking -----------------------------------------------------------------------


def test_group_re_sends_of_a_firing_alert_are_identical() -> None:
    """group_interval / repeat_interval re-sends: same notification, so a repeat."""
    first = parse(body(alert(0)))[0]
    again = parse(
        body(
            alert(0),
            alert(1),
            status="resolved",
            truncatedAlerts=3,
            commonLabels={"job": "node"},
            groupLabels={},
            commonAnnotations={"x": "y"},
        )
    )[0]
    assert again == first
    assert again.fingerprint(ENDPOINT) == first.fingerprint(ENDPOINT)


def test_session_id_is_stable_short_and_breaks_ties_by_content() -> None:
    firing = one()
    assert firing.session_id == one().session_id
    assert firing.session_id.startswith("firing::")
    assert len(firing.session_id) <= 60
    changed = one(annotations={"summary": "VALUE = 99"})
    assert changed.session_id != firing.session_id
    assert changed.rank() != firing.rank()
    resolved = one(status="resolved", endsAt="2026-12-03T08:05:30.123456789Z")
    assert resolved.session_id.startswith("recovered:2026-12-03T08:05:30.123456Z:")
    assert len(resolved.session_id) <= 60


def test_a_later_recovery_ranks_higher() -> None:
    early = one(status="resolved", endsAt="2026-12-03T08:00:00Z")
    late = one(status="resolved", endsAt="2026-12-03T09:00:00Z")
    assert late.rank() > early.rank() > one().rank()


# --- properties --------------------------------------------------------------------------------

LABEL_NAMES = st.one_of(
    st.sampled_from(
        [
            "alertname",
            "severity",
            "job",
            "instance",
            "region",
            "cluster",
            "team",
            "deviceName",
            "objName",
            "label:deviceName",
            "label:objName",
        ]
    ),
    st.text(max_size=6),
)
LABEL_VALUES = st.text(max_size=6)
LABEL_SETS = st.dictionaries(LABEL_NAMES, LABEL_VALUES, max_size=6).filter(
    lambda labels: any(labels.values())
)


def normalised(labels: dict[str, str]) -> dict[str, str]:
    """What the fingerprint can distinguish: empty labels do not exist, identity trims values."""
    return {key: value.strip() for key, value in labels.items() if value}


def mutated(data: st.DataObject, labels: dict[str, str]) -> dict[str, str]:
    """A label set one small step from ``labels`` (so collisions would be likely)."""
    result = dict(labels)
    step = data.draw(st.sampled_from(["set", "drop", "rename"]))
    key = data.draw(st.sampled_from(sorted(result))) if result else "x"
    if step == "drop" and result:
        del result[key]
    elif step == "rename" and result:
        result[data.draw(LABEL_NAMES)] = result.pop(key)
    else:
        result[data.draw(LABEL_NAMES)] = data.draw(LABEL_VALUES)
    return result


@settings(max_examples=300, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data(), labels=LABEL_SETS)
def test_property_different_labels_give_different_fingerprints(
    data: st.DataObject, labels: dict[str, str]
) -> None:
    other = mutated(data, labels)
    if not any(other.values()) or normalised(other) == normalised(labels):
        return
    assert fingerprint(labels) != fingerprint(other)


@settings(max_examples=200)
@given(
    labels=LABEL_SETS,
    order=st.randoms(use_true_random=False),
    ends_at=st.datetimes(
        min_value=datetime(2026, 12, 3, 8), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    resend=st.fixed_dictionaries(
        {
            "status": st.sampled_from(["firing", "resolved"]),
            "truncatedAlerts": st.integers(0, 10),
        }
    ),
)
def test_property_one_alert_keeps_one_identity(
    labels: dict[str, str], order: Any, ends_at: datetime, resend: dict[str, Any]
) -> None:
    """Any label order, any re-send of the group, and its recovery: one fingerprint."""
    items = list(labels.items())
    order.shuffle(items)
    firing = one(labels=labels)
    (shuffled,) = parse(body(alert(labels=dict(items)), **resend))
    resolved = one(labels=dict(items), status="resolved", endsAt=ends_at.isoformat())
    assert shuffled == firing
    assert resolved.fingerprint(ENDPOINT) == firing.fingerprint(ENDPOINT)
    assert resolved.first_occurred_at == firing.first_occurred_at
    assert resolved.rank() > firing.rank()
    assert resolved.recovered_at == ends_at


JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=8)
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=6,
)


@settings(max_examples=300)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "x"]
        ),
        JSON_VALUES,
    ),
    top=st.dictionaries(
        st.sampled_from(["receiver", "externalURL", "groupKey", "version"]), JSON_VALUES
    ),
)
def test_property_any_json_alert_parses_or_is_not_an_alarm(
    fields: dict[str, Any], top: dict[str, Any]
) -> None:
    try:
        notifications = parse(body(alert(**fields), **top))
    except NotAnAlarm as exc:
        assert str(exc)
        return
    for notification in notifications:
        assert json.loads(json.dumps(notification.extras)) == notification.extras
        assert all(isinstance(v, str) for v in notification.dimensions.values())
        assert notification.first_occurred_at.utcoffset() == timedelta(0)
        assert len(notification.session_id) <= 60
