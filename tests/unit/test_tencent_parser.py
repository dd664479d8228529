"""The Tencent Cloud Monitor callback parser: pure, so no database and no request cycle."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms.sources import tencent
from alarms.sources.base import NotAnAlarm, Notification, Source
from alarms.sources.tencent import EXAMPLES_DIR

FIXTURES = EXAMPLES_DIR
SHANGHAI = ZoneInfo("Asia/Shanghai")
TRIGGER = "metric_cvm_disk_usage_trigger_repeat_real.json"
RECOVERY = "metric_cvm_disk_usage_recovery_real.json"
NOT_ALARMS = (
    "custom_content_template_body_fixture.json",
    "doc_event_vpc_peering_dimensions_fragment.json",
    "response_ack_legacy_contract.json",
)
# Alarm-shaped bodies of a shape no documentation describes: failed, with the reason.
UNKNOWN_SHAPES = ("constructed_unknown_alarm_type_body.json",)
ALARM_FIXTURES = sorted(
    p.name for p in FIXTURES.glob("*.json") if p.name not in NOT_ALARMS + UNKNOWN_SHAPES
)
PROMETHEUS = "constructed_prometheus_tmp_alert_firing.json"
APM = "constructed_metric_apm_service_operation.json"
OBJECT_LEVEL = "constructed_metric_object_level_id_instance.json"
EVENTBRIDGE = "constructed_event_eventbridge_stateless.json"
TIERED_REMIND = "constructed_metric_tiered_alert_id_remind.json"
TIERED_SERIOUS = "constructed_metric_tiered_alert_id_serious.json"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def parse(payload: dict[str, Any], tz: Any = SHANGHAI) -> Notification:
    return tencent.parse_notification(payload, default_tz=tz)


def parse_fixture(name: str, tz: Any = SHANGHAI) -> Notification:
    return parse(load(name), tz)


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0, us: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, us, tzinfo=UTC)


def with_changes(name: str, **top: Any) -> dict[str, Any]:
    """A fixture with top-level keys replaced (value ``...`` deletes the key)."""
    payload = load(name)
    for key, value in top.items():
        if value is ...:
            payload.pop(key, None)
        else:
            payload[key] = value
    return payload


def with_conditions(name: str, **changes: Any) -> dict[str, Any]:
    payload = load(name)
    conditions = payload["alarmPolicyInfo"]["conditions"]
    for key, value in changes.items():
        if value is ...:
            conditions.pop(key, None)
        else:
            conditions[key] = value
    return payload


def with_dimensions(dimensions: dict[str, Any]) -> dict[str, Any]:
    payload = load(TRIGGER)
    payload["alarmObjInfo"]["dimensions"] = dimensions
    return payload


# --- the module itself --------------------------------------------------------------------------


def test_module_is_a_source_named_tencent() -> None:
    source: Source = tencent
    assert source.name == "tencent"
    assert callable(source.parse)


@pytest.mark.parametrize("name", ALARM_FIXTURES)
def test_every_alarm_fixture_parses_to_an_aware_utc_notification(name: str) -> None:
    notification = parse_fixture(name)

    assert notification.source == "tencent"
    assert notification.first_occurred_at.tzinfo is UTC
    assert notification.recovered_at is None or notification.recovered_at.tzinfo is UTC
    assert notification.instance_id
    assert notification.policy_name


# --- real payloads ------------------------------------------------------------------------------


def test_disk_usage_repeat_reads_as_firing_metric_with_its_condition_snapshot() -> None:
    n = parse_fixture(TRIGGER)

    assert n.kind == "metric"
    assert n.status == "firing"
    assert n.session_id == "ECkYDW5CbFIIPabdCq4y7w3t"
    assert n.first_occurred_at == utc(2021, 5, 4, 20, 37)  # 04:37 in Shanghai
    assert n.recovered_at is None
    assert n.duration_seconds == 86400
    assert (n.region, n.namespace) == ("hk", "qce/cvm")
    assert n.policy_id == "policy-9dz6qbwy"
    assert n.policy_name == "AlarmForTetHoliday"
    assert n.policy_type == "cvm_device"
    assert (n.policy_type_cname, n.policy_type_ename) == ("", "Cloud Virtual Machine")
    assert n.instance_id == "ins-4ap7abk6"
    assert n.instance_name == "Unnamed1"
    assert n.dimensions["objName"] == "172.19.0.34#3552563"
    assert n.metric_name == "disk_usage"
    assert n.metric_display_name == "DiskUtilization"
    assert (n.operator, n.threshold, n.unit) == (">", "95", "%")
    assert n.period_seconds == 60
    assert n.current_value == "96.739"
    assert n.event_name == n.product_name == ""
    assert n.level == ""
    assert n.extras == {
        "alarmPolicyInfo": {
            "conditions": {
                "periodNum": "5",
                "alarmNotifyType": "singleAlarm",
                "alarmNotifyPeriod": 5,
            }
        }
    }


def test_disk_usage_recovery_has_tencents_recover_time_in_utc() -> None:
    n = parse_fixture(RECOVERY)

    assert n.status == "recovered"
    assert n.first_occurred_at == utc(2021, 5, 4, 20, 37)
    assert n.recovered_at == utc(2021, 5, 6, 0, 46)  # 08:46 in Shanghai
    assert n.duration_seconds == 101340
    assert n.current_value == "26.14"
    assert "recoverTime" not in n.extras


def test_trigger_and_recovery_of_one_alarm_share_a_fingerprint() -> None:
    trigger, recovery = parse_fixture(TRIGGER), parse_fixture(RECOVERY)

    assert trigger.session_id != recovery.session_id
    assert trigger.fingerprint(1) == recovery.fingerprint(1)
    assert trigger.rank() < recovery.rank()


def test_another_instance_or_endpoint_has_another_fingerprint() -> None:
    trigger = parse_fixture(TRIGGER)
    other_payload = load(TRIGGER)
    other_payload["alarmObjInfo"]["dimensions"]["unInstanceId"] = "ins-00000000"
    other = parse(other_payload)

    assert other.instance_id == "ins-00000000"
    assert other.fingerprint(1) != trigger.fingerprint(1)
    assert trigger.fingerprint(2) != trigger.fingerprint(1)


def test_renaming_the_instance_keeps_the_fingerprint() -> None:
    payload = load(TRIGGER)
    payload["alarmObjInfo"]["dimensions"]["deviceName"] = "renamed"

    assert parse(payload).fingerprint(1) == parse_fixture(TRIGGER).fingerprint(1)


def test_intl_cdb_alarm_uses_uinstanceid_and_english_policy_type() -> None:
    n = parse_fixture("metric_cdb_cpu_use_rate_trigger_real_intl.json")

    assert n.first_occurred_at == utc(2021, 6, 27, 15, 5)
    assert (n.region, n.namespace) == ("sg", "qce/cdb")
    assert n.instance_id == "cdb-59ds6dfv"
    assert n.instance_name.startswith("cdb-59ds6dfv(instance name:gt-omg3sea-game-db-03")
    assert (n.policy_type_cname, n.policy_type_ename) == ("", "CDB-MySQL-MASTER")
    assert (n.metric_name, n.metric_display_name) == ("cpu_use_rate", "cpu_use_rate")
    assert n.unit == ""
    assert n.period_seconds == 300
    assert n.duration_seconds == 0


def test_real_event_with_status_0_is_a_recovered_event_without_policy_id() -> None:
    n = parse_fixture("event_cvm_ping_unreachable_status0_real.json")

    assert n.kind == "event"
    assert n.status == "recovered"
    assert n.first_occurred_at == utc(2021, 4, 20, 2, 23, 24)
    assert n.recovered_at is None  # recoverTime "0" and durationTime 0: time unknown
    assert n.policy_id == ""
    assert n.policy_name == "AlarmForTetHoliday"
    assert (n.region, n.namespace) == ("hk", "qce/cvm")
    assert n.instance_id == "ins-7hw5sju6"
    assert n.instance_name == "Unnamed33"
    assert (n.event_name, n.event_display_name) == ("ping_unreachable", "ping不可达")
    assert (n.product_name, n.product_display_name) == ("cvm", "云服务器")
    assert n.metric_name == n.operator == n.threshold == ""
    assert n.period_seconds is None
    assert n.additional_msg == {
        "ip": "something unnormal",
        "alias": "Unnamed33",
        "deviceLanIp": "172.19.0.125",
        "deviceWanIp": "129.226.166.84",
        "uniqVpcId": "vpc-lfvj69yw",
    }
    assert "additionalMsg" not in n.extras
    assert n.dimensions["objDetail"]["uniqVpcId"] == "vpc-lfvj69yw"


def test_tianji_2024_payload_keeps_new_fields_in_extras() -> None:
    n = parse_fixture("metric_cvm_network_qce_lb_trigger_tianji_2024.json")

    assert n.namespace == "qce/lb"  # CVM network metrics arrive under qce/lb
    assert n.policy_type == "cvm_device"
    assert n.instance_id == "ins-n0y0008z"
    assert n.instance_name == "Tailchat"
    assert n.metric_name == "outratio"
    assert n.period_seconds == 300
    assert n.session_id == "395d4bb4-08bf-45fd-a820-ef27047a00009"
    assert n.extras["policyDetailURL"] == "https://tcop.qq.com/r/xxxxxx"
    assert n.extras["alarmObjInfo"] == {"appId": "1257200005", "uin": "10000670009"}
    assert n.extras["alarmPolicyInfo"]["tag"] == []
    assert n.extras["alarmPolicyInfo"]["policyTags"] == []
    assert n.extras["alarmPolicyInfo"]["conditions"]["historyValue"] == ""
    assert n.extras["alarmPolicyInfo"]["conditions"]["calcUnit"] == "%"


# --- documentation samples ----------------------------------------------------------------------


def test_legacy_2018_sample_with_numeric_status_and_no_alarm_type_is_a_firing_metric() -> None:
    n = parse_fixture("doc_metric_cvm_cpu_legacy_2018.json")

    assert n.kind == "metric"
    assert n.status == "firing"
    assert n.first_occurred_at == utc(2017, 3, 8, 23, 0)
    assert n.duration_seconds == 500
    assert n.metric_name == "cpu usage"
    assert n.metric_display_name == "CPU 利用率"
    assert n.instance_id == "ins-o9p3rg3m"
    assert n.instance_name == ""
    assert n.policy_type_cname == ""


def test_v2_2020_sample_with_numeric_status_is_firing() -> None:
    n = parse_fixture("doc_metric_cvm_cpu_v2_2020.json")

    assert (n.kind, n.status) == ("metric", "firing")
    assert n.policy_type_cname == "云服务器-基础监控"
    assert n.metric_name == "cpu_usage"


def test_tcop_2023_sample_stays_firing_and_keeps_its_recover_time_in_extras() -> None:
    n = parse_fixture("doc_metric_cvm_cpu_tcop_2023.json")

    assert n.status == "firing"
    assert n.recovered_at is None
    assert n.extras["recoverTime"] == "2017-03-09 07:50:00"
    assert n.extras["alarmObjInfo"] == {"appId": "xxxxxxxxxxxx", "uin": "xxxxxxxxxxxx"}
    assert n.extras["alarmPolicyInfo"]["conditions"]["historyValue"] == "5"
    assert n.policy_type_cname == "CVM - basic monitoring"


def test_doc_event_sample_reads_namespace_from_its_product() -> None:
    n = parse_fixture("doc_event_cvm_ping_unreachable_trigger.json")

    assert (n.kind, n.status) == ("event", "firing")
    assert n.namespace == "qce/cvm"
    assert n.product_name == "cvm"
    assert n.policy_id == "policy-n4exeh88"
    assert n.policy_type_cname == "云服务器-基础监控"
    assert n.instance_id == "ins-pftdvqa2"
    assert n.instance_name == ""
    assert n.duration_seconds is None  # doc event samples have no durationTime
    assert n.first_occurred_at == utc(2018, 6, 15, 8, 32, 6)


# --- constructed payloads -----------------------------------------------------------------------


def test_continuous_repeat_has_its_duration_and_stays_firing() -> None:
    n = parse_fixture("constructed_metric_cvm_cpu_continuous_repeat.json")

    assert (n.status, n.duration_seconds) == ("firing", 600)
    assert n.instance_id == "ins-aoaaah55"
    assert n.instance_name == "172.21.30.15#588789"


@pytest.mark.parametrize(
    ("name", "instance_id", "namespace"),
    [
        ("constructed_metric_cmongo_instance.json", "cmgo-ajc6okuy", "qce/cmongo"),
        ("constructed_metric_redis_mem_edition.json", "crs-1amp2588", "qce/redis_mem"),
        ("constructed_metric_clb_public_listener.json", "118.25.31.161:443/https", "qce/lb_public"),
    ],
)
def test_product_specific_dimensions_yield_the_instance_id(
    name: str, instance_id: str, namespace: str
) -> None:
    n = parse_fixture(name)

    assert n.instance_id == instance_id
    assert n.namespace == namespace


def test_numeric_dimension_values_are_kept_as_sent() -> None:
    n = parse_fixture("constructed_metric_clb_public_listener.json")

    assert n.dimensions["vport"] == 443


# --- time zones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tz", "expected"),
    [
        (SHANGHAI, utc(2021, 5, 4, 20, 37)),
        (UTC, utc(2021, 5, 5, 4, 37)),
        (ZoneInfo("America/New_York"), utc(2021, 5, 5, 8, 37)),  # EDT, UTC-4
        (timezone(timedelta(hours=-3)), utc(2021, 5, 5, 7, 37)),
    ],
)
def test_times_without_offset_are_local_to_the_endpoint_time_zone(
    tz: Any, expected: datetime
) -> None:
    trigger = parse_fixture(TRIGGER, tz)
    recovery = parse_fixture(RECOVERY, tz)

    assert trigger.first_occurred_at == expected
    assert recovery.recovered_at == expected + timedelta(seconds=101340)


@pytest.mark.parametrize(
    ("sent", "expected"),
    [
        ("2021-05-05 04:37:00", utc(2021, 5, 4, 20, 37)),
        (" 2021-05-05T04:37:00 ", utc(2021, 5, 4, 20, 37)),
        ("2021-05-05 04:37:00.25", utc(2021, 5, 4, 20, 37, 0, 250000)),
        ("2021-05-05T04:37:00Z", utc(2021, 5, 5, 4, 37)),
        ("2021-05-05T04:37:00+00:00", utc(2021, 5, 5, 4, 37)),
        ("2021-05-05 04:37:00-0400", utc(2021, 5, 5, 8, 37)),
        ("2021-05-05T04:37:00.123456789+08:00", utc(2021, 5, 4, 20, 37, 0, 123456)),
    ],
)
def test_time_formats_and_explicit_offsets_win_over_the_default_zone(
    sent: str, expected: datetime
) -> None:
    assert parse(with_changes(TRIGGER, firstOccurTime=sent)).first_occurred_at == expected


@pytest.mark.parametrize(
    "sent",
    ["yesterday", "2021-02-30 00:00:00", "2021-05-05", "", "2021-05-05 25:00:00", 1620160620, []],
)
def test_unreadable_first_occur_time_is_not_an_alarm(sent: Any) -> None:
    with pytest.raises(NotAnAlarm, match="firstOccurTime"):
        parse(with_changes(TRIGGER, firstOccurTime=sent))


def test_a_time_at_the_edge_of_the_calendar_is_not_an_alarm_rather_than_a_crash() -> None:
    with pytest.raises(NotAnAlarm, match="firstOccurTime"):
        parse(with_changes(TRIGGER, firstOccurTime="0001-01-01 00:00:00"))


# --- status, kind, recovery and duration --------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "status"),
    [(1, "firing"), ("1", "firing"), (" 1 ", "firing"), (0, "recovered"), ("0", "recovered")],
)
def test_alarm_status_accepts_numbers_and_strings(sent: Any, status: str) -> None:
    assert parse(with_changes(TRIGGER, alarmStatus=sent)).status == status


def test_eventbridge_stateless_status_dash_is_firing() -> None:
    payload = with_changes("event_cvm_ping_unreachable_status0_real.json", alarmStatus="-")

    assert parse(payload).status == "firing"


@pytest.mark.parametrize("sent", ["abc", 2, "", True, [1], {"v": 1}])
def test_unknown_alarm_status_is_not_an_alarm(sent: Any) -> None:
    with pytest.raises(NotAnAlarm, match="alarmStatus"):
        parse(with_changes(TRIGGER, alarmStatus=sent))


@pytest.mark.parametrize(
    ("name", "sent", "kind"),
    [
        (TRIGGER, " METRIC ", "metric"),
        ("doc_event_cvm_ping_unreachable_trigger.json", "Event", "event"),
        ("doc_event_cvm_ping_unreachable_trigger.json", " ", "event"),
    ],
)
def test_alarm_type_is_read_case_insensitively(name: str, sent: str, kind: str) -> None:
    assert parse(with_changes(name, alarmType=sent)).kind == kind


def test_missing_alarm_type_is_inferred_from_the_condition() -> None:
    event = with_changes("doc_event_cvm_ping_unreachable_trigger.json", alarmType=...)
    metric = with_changes(TRIGGER, alarmType=...)

    assert parse(event).kind == "event"
    assert parse(metric).kind == "metric"


@pytest.mark.parametrize("sent", ["alert", 1, ["metric"]])
def test_unknown_alarm_type_is_not_an_alarm(sent: Any) -> None:
    with pytest.raises(NotAnAlarm, match="alarmType"):
        parse(with_changes(TRIGGER, alarmType=sent))


@pytest.mark.parametrize("sent", ["0", 0, "", None, ...])
def test_recovery_without_recover_time_ends_at_first_occurrence_plus_duration(sent: Any) -> None:
    n = parse(with_changes(RECOVERY, recoverTime=sent))

    assert n.recovered_at == utc(2021, 5, 4, 20, 37) + timedelta(seconds=101340)
    assert "recoverTime" not in n.extras


def test_recovery_without_recover_time_or_duration_has_no_recovered_at() -> None:
    n = parse(with_changes(RECOVERY, recoverTime="0", durationTime=0))

    assert n.status == "recovered"
    assert n.recovered_at is None


def test_recovery_with_garbage_recover_time_falls_back_and_keeps_it() -> None:
    n = parse(with_changes(RECOVERY, recoverTime="soon"))

    assert n.recovered_at == utc(2021, 5, 6, 0, 46)
    assert n.extras["recoverTime"] == "soon"


@pytest.mark.parametrize(
    ("sent", "seconds"),
    [
        (240, 240),
        ("240", 240),
        (" 240 ", 240),
        ("240.0", 240),
        (240.0, 240),
        (0, 0),
        ("", None),
        (None, None),
        (..., None),
        ("abc", None),
        (-5, None),
        ("-5", None),
        (10**12, None),
        (True, None),
    ],
)
def test_duration_is_read_leniently(sent: Any, seconds: int | None) -> None:
    assert parse(with_changes(TRIGGER, durationTime=sent)).duration_seconds == seconds


def test_rejected_duration_is_kept_in_extras() -> None:
    assert parse(with_changes(TRIGGER, durationTime=-5)).extras["durationTime"] == -5


# --- condition quirks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sent", "threshold"), [(95, "95"), (95.0, "95"), (95.5, "95.5"), (" 95 ", "95")]
)
def test_threshold_numbers_become_plain_strings(sent: Any, threshold: str) -> None:
    assert parse(with_conditions(TRIGGER, calcValue=sent)).threshold == threshold


def test_current_value_and_period_as_numbers() -> None:
    n = parse(with_conditions(TRIGGER, currentValue=96.739, period=60))

    assert (n.current_value, n.period_seconds) == ("96.739", 60)


def test_escaped_operator_and_padded_strings_are_trimmed() -> None:
    payload = json.loads(
        (FIXTURES / TRIGGER).read_text(encoding="utf-8").replace('">"', '" \\u003e= "')
    )

    assert parse(payload).operator == ">="


@pytest.mark.parametrize(("unit", "calc_unit", "expected"), [("None", ..., ""), (" % ", ..., "%")])
def test_unit_none_means_no_unit(unit: str, calc_unit: Any, expected: str) -> None:
    assert parse(with_conditions(TRIGGER, unit=unit, calcUnit=calc_unit)).unit == expected


def test_empty_unit_falls_back_to_the_threshold_unit() -> None:
    n = parse(with_conditions(TRIGGER, unit="", calcUnit="Mbps"))

    assert n.unit == "Mbps"
    assert n.extras["alarmPolicyInfo"]["conditions"]["calcUnit"] == "Mbps"


def test_metric_without_threshold_fields_has_empty_condition() -> None:
    removed = dict.fromkeys(
        ["calcType", "calcValue", "currentValue", "unit", "period", "periodNum"], ...
    )
    n = parse(with_conditions(TRIGGER, **removed))

    assert n.metric_name == "disk_usage"
    assert (n.operator, n.threshold, n.unit, n.current_value) == ("", "", "", "")
    assert n.period_seconds is None


def test_unknown_keys_at_every_level_are_kept_in_extras() -> None:
    payload = with_changes(TRIGGER, brandNew={"x": [1, 2]}, alertId="ECkYDW5CbFIIPabdCq4y7w3t")
    payload["alarmObjInfo"]["content"] = "summary"
    payload["alarmPolicyInfo"]["policyTags"] = [{"key": "team", "value": "ops"}]
    payload["alarmPolicyInfo"]["conditions"]["historyValue"] = "12"

    extras = parse(payload).extras

    assert extras["brandNew"] == {"x": [1, 2]}
    assert extras["alertId"] == "ECkYDW5CbFIIPabdCq4y7w3t"
    assert extras["alarmObjInfo"] == {"content": "summary"}
    assert extras["alarmPolicyInfo"]["policyTags"] == [{"key": "team", "value": "ops"}]
    assert extras["alarmPolicyInfo"]["conditions"]["historyValue"] == "12"


def test_policy_fields_given_as_numbers_become_strings() -> None:
    payload = load(TRIGGER)
    payload["alarmPolicyInfo"].update(policyId=12345, policyName=" Default ")

    n = parse(payload)

    assert (n.policy_id, n.policy_name) == ("12345", "Default")


def test_session_id_number_becomes_a_string_and_absence_is_empty() -> None:
    assert parse(with_changes(TRIGGER, sessionId=42)).session_id == "42"
    assert parse(with_changes(TRIGGER, sessionId=...)).session_id == ""


def test_malformed_additional_msg_entries_are_skipped_and_the_raw_list_kept() -> None:
    raw = [
        {"key": "alias", "value": "web-1"},
        "junk",
        {"value": "no key"},
        {"key": "n", "value": 3},
    ]
    n = parse(with_changes("event_cvm_ping_unreachable_status0_real.json", additionalMsg=raw))

    assert n.additional_msg == {"alias": "web-1", "n": "3"}
    assert n.extras["additionalMsg"] == raw


def test_instance_name_falls_back_to_the_event_alias() -> None:
    payload = load("event_cvm_ping_unreachable_status0_real.json")
    del payload["alarmObjInfo"]["dimensions"]["deviceName"]

    assert parse(payload).instance_name == "Unnamed33"


# --- where: region, namespace, instance ---------------------------------------------------------


def test_namespace_is_trimmed_and_lower_cased() -> None:
    payload = load(TRIGGER)
    payload["alarmObjInfo"]["namespace"] = " QCE/CVM "

    assert parse(payload).namespace == "qce/cvm"


@pytest.mark.parametrize("key", ["region", "__region__"])
def test_region_falls_back_to_dimensions(key: str) -> None:
    payload = with_dimensions({key: "ap-guangzhou", "unInstanceId": "ins-1"})
    del payload["alarmObjInfo"]["region"]

    assert parse(payload).region == "ap-guangzhou"


def test_global_product_without_region_has_empty_region() -> None:
    payload = load(TRIGGER)
    del payload["alarmObjInfo"]["region"]

    assert parse(payload).region == ""


@pytest.mark.parametrize(
    ("dimensions", "instance_id"),
    [
        ({"uInstanceId": "cdb-1", "objId": "uuid"}, "cdb-1"),
        ({"InstanceId": "crs-1", "AppId": "125"}, "crs-1"),
        ({"objId": "uuid", "unInstanceId": " ins-1 "}, "ins-1"),
        ({"unInstanceId": "", "uInstanceId": "cdb-2"}, "cdb-2"),
        ({"un_instance_id": "ins-tke", "pod_name": "p"}, "ins-tke"),
        (
            {"appid": 1, "clusterid": "cynosdb-1", "instanceid": "cynosdbmysql-ins-1"},
            "cynosdbmysql-ins-1",
        ),
        ({"instance_id": "ckafka-1", "topicid": "t"}, "ckafka-1"),
        ({"UNINSTANCEID": "ins-upper"}, "ins-upper"),
        ({"instanceid": 12345}, "12345"),
        ({"bucket": "logs-125"}, "logs-125"),
        ({"function_name": "fn", "namespace": "default"}, "fn"),
        ({"vip": "1.2.3.4", "vport": 80, "protocol": "tcp"}, "1.2.3.4:80/tcp"),
        ({"appid": 1, "vip": "5.6.7.8"}, "5.6.7.8"),
        ({"objId": "only-obj"}, "only-obj"),
        ({"objID": "obj-case"}, "obj-case"),
        ({"objName": "name only"}, ""),
        ({}, ""),
    ],
)
def test_instance_id_comes_from_the_most_specific_dimension(
    dimensions: dict[str, Any], instance_id: str
) -> None:
    assert parse(with_dimensions(dimensions)).instance_id == instance_id


def test_missing_dimensions_are_empty() -> None:
    payload = load(TRIGGER)
    del payload["alarmObjInfo"]["dimensions"]

    n = parse(payload)

    assert (n.dimensions, n.instance_id, n.instance_name) == ({}, "", "")


# --- level --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "level"),
    [
        ({"alarmLevel": "warn"}, "Warn"),
        ({"alarmLevel": " SERIOUS "}, "Serious"),
        ({"alarmLevel": "Critical"}, "Critical"),
        ({"alertId": "ECkYDW5CbFIIPabdCq4y7w3t_Remind"}, "Remind"),
        ({"alertId": "abc_serious"}, "Serious"),
        ({"alertId": "ECkYDW5CbFIIPabdCq4y7w3t"}, ""),
        ({"alertId": "abc_other"}, ""),
        ({"alarmLevel": "Warn", "alertId": "abc_Remind"}, "Warn"),
        ({}, ""),
    ],
)
def test_level_comes_from_alarm_level_or_the_alert_id_suffix(
    changes: dict[str, Any], level: str
) -> None:
    assert parse(with_changes(TRIGGER, **changes)).level == level


def test_level_inside_the_policy_is_read_too() -> None:
    payload = load(TRIGGER)
    payload["alarmPolicyInfo"]["alarmLevel"] = "remind"

    assert parse(payload).level == "Remind"


def test_different_levels_are_different_alarms() -> None:
    remind = parse(with_changes(TRIGGER, alertId="a_Remind"))
    serious = parse(with_changes(TRIGGER, alertId="a_Serious"))

    assert remind.fingerprint(1) != serious.fingerprint(1)


# --- not alarms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NOT_ALARMS)
def test_bodies_that_are_not_alarms_name_what_is_missing(name: str) -> None:
    with pytest.raises(NotAnAlarm) as caught:
        parse_fixture(name)

    message = str(caught.value)
    assert message.startswith("not a Tencent alarm: missing ")
    for field in ("alarmPolicyInfo", "alarmObjInfo", "firstOccurTime", "alarmStatus"):
        assert field in message


def test_empty_object_is_not_an_alarm() -> None:
    with pytest.raises(NotAnAlarm, match="missing alarmPolicyInfo, alarmObjInfo"):
        parse({})


def test_only_the_missing_fields_are_named() -> None:
    with pytest.raises(NotAnAlarm) as caught:
        parse(with_changes(TRIGGER, firstOccurTime=..., alarmObjInfo=None))

    assert str(caught.value) == "not a Tencent alarm: missing alarmObjInfo, firstOccurTime"


def test_alarm_type_stands_in_for_a_missing_policy() -> None:
    n = parse(with_changes(TRIGGER, alarmPolicyInfo=...))

    assert (n.kind, n.policy_id, n.metric_name) == ("metric", "", "")


@pytest.mark.parametrize(
    ("where", "value", "field"),
    [
        ((), {"alarmObjInfo": [{"region": "hk"}]}, "alarmObjInfo"),
        ((), {"alarmPolicyInfo": "policy-1"}, "alarmPolicyInfo"),
        (("alarmObjInfo",), {"dimensions": "unInstanceId=ins-1"}, "alarmObjInfo.dimensions"),
        (("alarmPolicyInfo",), {"conditions": []}, "alarmPolicyInfo.conditions"),
    ],
)
def test_wrongly_typed_containers_are_not_alarms(
    where: tuple[str, ...], value: dict[str, Any], field: str
) -> None:
    payload = load(TRIGGER)
    target = payload
    for key in where:
        target = target[key]
    target.update(value)

    with pytest.raises(NotAnAlarm, match=rf"^{field} must be an object"):
        parse(payload)


# --- fuzzing: NotAnAlarm or a Notification, never anything else ---------------------------------

ODD_TEXT = st.sampled_from(
    [
        *["", " ", "0", "1", "-", "abc", "None", "\x00", "\ud800", "ins-\x00", "é" * 50],
        *["2021-02-30 00:00:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59+14:00"],
        *["9999-12-31 23:59:59", "2021-05-05T04:37:00.5-23:59", "2021-05-05 04:37:00+24:00"],
    ]
)
HUGE_NUMBERS = st.sampled_from([10**400, -(10**400), 2**63, 1e308, 10**12, -1, 0])
JSON_SCALARS = (
    st.none() | st.booleans() | st.integers() | HUGE_NUMBERS | st.floats() | st.text() | ODD_TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def parse_or_reject(payload: dict[str, Any]) -> Notification | None:
    """Parse; a Notification must be usable by the lifecycle (fingerprint, rank)."""
    try:
        n = tencent.parse_notification(payload, default_tz=SHANGHAI)
    except NotAnAlarm as exc:
        assert str(exc)
        return None
    assert isinstance(n, Notification)
    assert n.first_occurred_at.tzinfo is UTC
    assert n.duration_seconds is None or n.duration_seconds >= 0
    assert len(n.fingerprint(1)) == 64
    assert n.rank()
    return n


@FUZZ
@given(st.dictionaries(st.text(max_size=20), JSON_VALUES, max_size=8))
def test_arbitrary_json_objects_parse_or_raise_not_an_alarm(payload: dict[str, Any]) -> None:
    parse_or_reject(payload)


def plausible(*good: Any) -> st.SearchStrategy[Any]:
    """Mostly a well-formed value, sometimes anything at all."""
    anything = ODD_TEXT | JSON_VALUES
    return st.integers(0, 9).flatmap(lambda i: st.sampled_from(good) if i else anything)


CONDITIONS = st.fixed_dictionaries(
    {},
    optional={
        "metricName": plausible("cpu_usage"),
        "eventName": plausible("ping_unreachable"),
        "productName": plausible("cvm"),
        "calcType": plausible(">", "\u003e"),
        "calcValue": plausible("90", 90, 90.5),
        "unit": plausible("%", "None", ""),
        "calcUnit": plausible("%"),
        "period": plausible("60", 60, " 60.0 "),
        "currentValue": plausible("97.5", 97.5),
    },
)
ALARM_SHAPED = st.fixed_dictionaries(
    {
        "alarmStatus": plausible(1, 0, "1", "0", "-", " 1 "),
        "firstOccurTime": plausible("2021-05-05 04:37:00", "2021-05-05T04:37:00Z"),
        "alarmObjInfo": st.fixed_dictionaries(
            {},
            optional={
                "region": plausible("gz"),
                "namespace": plausible("qce/cvm", " QCE/CDB "),
                "dimensions": st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=5),
            },
        )
        | JSON_VALUES,
        "alarmPolicyInfo": st.fixed_dictionaries(
            {},
            optional={
                "policyId": plausible("policy-1", 1),
                "policyName": plausible("Default"),
                "alarmLevel": plausible("warn"),
                "conditions": CONDITIONS,
            },
        )
        | JSON_VALUES,
    },
    optional={
        "alarmType": plausible("metric", "event", " Event "),
        "sessionId": plausible("ECkYDW5CbFIIPabdCq4y7w3t", 42),
        "durationTime": plausible(0, 240, "240", "240.0", -1, 10**400),
        "recoverTime": plausible("0", 0, "", "2021-05-06 08:46:00"),
        "alertId": plausible("x_Remind", "x_Warn"),
        "alarmLevel": plausible("SERIOUS"),
        "additionalMsg": st.lists(
            st.fixed_dictionaries({"key": plausible("alias"), "value": plausible("web-1")}),
            max_size=3,
        )
        | JSON_VALUES,
    },
)


@FUZZ
@given(ALARM_SHAPED)
def test_alarm_shaped_objects_with_random_values_parse_or_raise_not_an_alarm(
    payload: dict[str, Any],
) -> None:
    parse_or_reject(payload)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a dict entry or list item inside ``value``."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    paths = []
    for key, child in items:
        paths.append((*prefix, key))
        if isinstance(child, dict | list):
            paths.extend(_paths(child, (*prefix, key)))
    return paths


@st.composite
def mutated_alarms(draw: st.DrawFn) -> dict[str, Any]:
    """A real or documented alarm with a few fields replaced, deleted or added."""
    payload = load(draw(st.sampled_from(ALARM_FIXTURES)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        paths = _paths(payload)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = payload
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.text(max_size=12))] = draw(JSON_VALUES)
        else:
            parent[path[-1]] = draw(JSON_VALUES | ODD_TEXT)
    return payload


@FUZZ
@given(mutated_alarms())
def test_mutated_alarms_parse_or_raise_not_an_alarm(payload: dict[str, Any]) -> None:
    parse_or_reject(payload)


# --- shapes beyond plain metric and event alarms (docs/sources/tencent.md) -----------------------


def test_prometheus_alarm_type_is_a_metric_alarm_named_by_its_alertname() -> None:
    n = parse_fixture(PROMETHEUS)

    assert (n.kind, n.status, n.namespace, n.region) == ("metric", "firing", "qce/prometheus", "gz")
    assert (n.metric_name, n.policy_id, n.policy_name) == (
        "NodeDiskAlmostFull",
        "alert-k3m9x2qa",
        "node disk",
    )
    assert (n.instance_id, n.instance_name) == ("10.0.0.12:9100", "10.0.0.12:9100")
    assert n.dimensions["mountpoint"] == "/data"
    assert n.current_value == "91.2"
    assert n.extras["alarmType"] == "prometheus"
    assert n.extras["annotations"]["runbook_url"] == "https://runbooks.example.com/node/disk-full"


def test_prometheus_alerts_with_other_labels_are_other_alarms() -> None:
    base = load(PROMETHEUS)
    other_host = load(PROMETHEUS)
    other_host["alarmObjInfo"]["dimensions"]["instance"] = "10.0.0.13:9100"
    other_mount = load(PROMETHEUS)
    other_mount["alarmObjInfo"]["dimensions"]["mountpoint"] = "/"

    prints = {parse(payload).fingerprint(1) for payload in (base, other_host, other_mount)}

    assert len(prints) == 3


def test_prometheus_annotations_do_not_split_an_alarm() -> None:
    later = load(PROMETHEUS)
    later["alarmObjInfo"]["annotations"]["summary"] = "Disk /data on 10.0.0.12:9100 is 95% full"

    assert parse(later).fingerprint(1) == parse_fixture(PROMETHEUS).fingerprint(1)


def test_prometheus_labels_object_joins_the_dimensions() -> None:
    payload = load(PROMETHEUS)
    payload["alarmObjInfo"]["labels"] = payload["alarmObjInfo"].pop("dimensions")

    n = parse(payload)

    assert n.dimensions == parse_fixture(PROMETHEUS).dimensions
    assert n.fingerprint(1) == parse_fixture(PROMETHEUS).fingerprint(1)


def test_prometheus_metric_name_wins_over_the_alertname_label() -> None:
    payload = load(PROMETHEUS)
    payload["alarmPolicyInfo"]["conditions"]["metricName"] = "node_filesystem_avail_bytes"

    assert parse(payload).metric_name == "node_filesystem_avail_bytes"


def test_apm_body_reads_its_object_keys_as_dimensions_and_the_service_as_instance() -> None:
    n = parse_fixture(APM)

    assert n.dimensions == {
        "tapm.instance.key": "apm-Qx7rT2bLm",
        "service.name": "order-service",
        "span.kind": "server",
        "operation": "POST /api/orders",
    }
    assert (n.instance_id, n.instance_name, n.namespace) == (
        "order-service",
        "order-service",
        "performance_metric",
    )
    assert "tapm.instance.key" not in n.extras.get("alarmObjInfo", {})


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("operation", "GET /api/orders"),
        ("service.name", "payment-service"),
        ("span.kind", "client"),
        ("tapm.instance.key", "apm-Other0001"),
    ],
)
def test_apm_bodies_of_another_operation_service_or_instance_are_other_alarms(
    key: str, value: str
) -> None:
    payload = load(APM)
    payload["alarmObjInfo"][key] = value

    assert parse(payload).fingerprint(1) != parse_fixture(APM).fingerprint(1)


def test_apm_keys_inside_dimensions_read_the_same() -> None:
    payload = load(APM)
    obj = payload["alarmObjInfo"]
    keys = ("tapm.instance.key", "service.name", "span.kind", "operation")
    obj["dimensions"] = {key: obj.pop(key) for key in keys}

    assert parse(payload).fingerprint(1) == parse_fixture(APM).fingerprint(1)


def test_object_level_instance_id_id_and_level_are_read() -> None:
    n = parse_fixture(OBJECT_LEVEL)

    assert (n.instance_id, n.level) == ("ins-obj1eve1", "Serious")
    assert n.dimensions == {
        "id": "94f1133c-46cf-4c61-a4c1-d928183aba47",
        "instanceId": "ins-obj1eve1",
    }
    assert n.extras == {}


def test_object_level_id_alone_names_the_instance() -> None:
    payload = load(OBJECT_LEVEL)
    del payload["alarmObjInfo"]["instanceId"]

    assert parse(payload).instance_id == "94f1133c-46cf-4c61-a4c1-d928183aba47"


def test_object_level_key_that_contradicts_the_dimensions_stays_in_extras() -> None:
    payload = load(OBJECT_LEVEL)
    payload["alarmObjInfo"]["dimensions"] = {"instanceId": "ins-fromdims"}

    n = parse(payload)

    assert n.dimensions["instanceId"] == "ins-fromdims"
    assert n.extras["alarmObjInfo"] == {"instanceId": "ins-obj1eve1"}


def test_top_level_alarm_level_wins_over_the_objects_level() -> None:
    payload = with_changes(OBJECT_LEVEL, alarmLevel="Warn")

    assert parse(payload).level == "Warn"


def test_undocumented_object_level_is_kept_as_sent_not_flattened() -> None:
    payload = load(OBJECT_LEVEL)
    payload["alarmObjInfo"]["level"] = "P1"

    assert parse(payload).level == "P1"


def test_eventbridge_stateless_event_fires_under_its_rule_name() -> None:
    n = parse_fixture(EVENTBRIDGE)

    assert (n.kind, n.status, n.recovered_at) == ("event", "firing", None)
    assert (n.policy_id, n.policy_name, n.event_name) == ("", "cvm-reboot-rule", "guest_reboot")
    assert (n.namespace, n.instance_id, n.instance_name) == ("qce/cvm", "ins-evbr0001", "batch-7")


def test_tiered_levels_of_one_policy_are_two_alarms_with_their_own_level() -> None:
    remind, serious = parse_fixture(TIERED_REMIND), parse_fixture(TIERED_SERIOUS)

    assert (remind.level, serious.level) == ("Remind", "Serious")
    assert remind.identity_fields() | {"level": ""} == serious.identity_fields() | {"level": ""}
    assert remind.fingerprint(1) != serious.fingerprint(1)


def test_unknown_alarm_type_is_not_an_alarm_and_names_the_known_ones() -> None:
    with pytest.raises(NotAnAlarm) as caught:
        parse_fixture(UNKNOWN_SHAPES[0])

    assert str(caught.value) == ("alarmType must be 'metric', 'event' or 'prometheus', got 'trace'")


# --- properties of the new shapes ------------------------------------------------------------

LABEL_NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(
    lambda name: name not in {"objName", "deviceName", "objDetail"}
)
LABEL_VALUES = st.text(min_size=1, max_size=12).filter(lambda text: text.strip() == text)
LABEL_SETS = st.dictionaries(LABEL_NAMES, LABEL_VALUES, min_size=1, max_size=5)


@FUZZ
@given(LABEL_SETS, LABEL_SETS)
def test_prometheus_alerts_share_an_identity_exactly_when_their_labels_match(
    first: dict[str, str], second: dict[str, str]
) -> None:
    one, two = load(PROMETHEUS), load(PROMETHEUS)
    one["alarmObjInfo"]["dimensions"] = first
    two["alarmObjInfo"]["dimensions"] = second

    same = parse(one).fingerprint(1) == parse(two).fingerprint(1)

    assert same == (first == second)


APM_KEYS = ("tapm.instance.key", "service.name", "span.kind", "operation")


@FUZZ
@given(
    st.fixed_dictionaries({key: LABEL_VALUES for key in APM_KEYS}),
    st.fixed_dictionaries({key: LABEL_VALUES for key in APM_KEYS}),
    st.booleans(),
)
def test_apm_bodies_share_an_identity_exactly_when_their_object_keys_match(
    first: dict[str, str], second: dict[str, str], inside_dimensions: bool
) -> None:
    one, two = load(APM), load(APM)
    for key in APM_KEYS:
        one["alarmObjInfo"][key] = first[key]
        two["alarmObjInfo"].pop(key)
    # Where a body puts the keys (alarmObjInfo or its dimensions) does not matter.
    if inside_dimensions:
        two["alarmObjInfo"]["dimensions"] = dict(second)
    else:
        two["alarmObjInfo"].update(second)

    same = parse(one).fingerprint(1) == parse(two).fingerprint(1)

    assert same == (first == second)


@FUZZ
@given(
    st.sampled_from(["Remind", "Warn", "Serious"]),
    st.sampled_from(["Remind", "Warn", "Serious"]),
    st.sampled_from(["alarmLevel", "alertId"]),
)
def test_levels_are_never_flattened(first: str, second: str, where: str) -> None:
    def body(level: str) -> dict[str, Any]:
        value = level if where == "alarmLevel" else f"CONSTRUCTEDTIERED_{level}"
        changes: dict[str, Any] = {"alertId": ..., where: value}
        return with_changes(TIERED_REMIND, **changes)

    one, two = parse(body(first)), parse(body(second))

    assert (one.level, two.level) == (first, second)
    assert (one.fingerprint(1) == two.fingerprint(1)) == (first == second)


SHAPED_OBJECT = st.fixed_dictionaries(
    {},
    optional={
        "region": plausible("gz"),
        "namespace": plausible("performance_metric"),
        "level": plausible("Warn", "serious"),
        "id": plausible("obj-1", 7),
        "instanceId": plausible("ins-1"),
        "tapm.instance.key": plausible("apm-1"),
        "service.name": plausible("svc"),
        "span.kind": plausible("server"),
        "operation": plausible("GET /"),
        "labels": st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=4) | JSON_VALUES,
        "annotations": st.dictionaries(st.text(max_size=8), JSON_VALUES, max_size=3) | JSON_VALUES,
        "dimensions": st.dictionaries(st.text(max_size=12), JSON_VALUES, max_size=5),
    },
)


@FUZZ
@given(SHAPED_OBJECT, plausible("prometheus", "metric", "event", " PROMETHEUS "), st.data())
def test_new_shapes_with_random_values_parse_or_raise_not_an_alarm(
    obj: dict[str, Any], alarm_type: Any, data: st.DataObject
) -> None:
    payload = load(data.draw(st.sampled_from([PROMETHEUS, APM, OBJECT_LEVEL, EVENTBRIDGE])))
    payload["alarmObjInfo"] = obj
    payload["alarmType"] = alarm_type

    parse_or_reject(payload)
