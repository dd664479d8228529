"""Tencent Cloud Monitor (TCOP) alarm callbacks, read into a :class:`Notification`.

Pure: a decoded JSON object in, a normalised notification out, no Django and no I/O. The format
and its quirks are described in ``FORMAT.md`` (§4–§8) of the shared Tencent notes. Every field is
read leniently (numbers or strings, stray spaces); only a body that cannot be an alarm at all, or
whose core fields are unusable, raises :class:`NotAnAlarm`. Keys the parser does not use are kept
in ``extras`` in the payload's own nesting, so nothing Tencent sent is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo
from typing import Any

from ..base import Kind, NotAnAlarm, Notification, Status
from .shapes import (
    PROMETHEUS,
    PROMETHEUS_NAMESPACE,
    annotations_of,
    is_prometheus,
    object_dimensions,
    optional_object,
)
from .values import (
    MAX_PERIOD_SECONDS,
)
from .values import (
    Fields as _Fields,
)
from .values import (
    as_seconds as _as_seconds,
)
from .values import (
    as_text as _as_text,
)
from .values import (
    describe as _describe,
)
from .values import (
    is_blank as _is_blank,
)
from .values import (
    parse_time as _parse_time,
)

SOURCE = "tencent"

# "-" is EventBridge's stateless event status; such an event never recovers, so it only fires.
_STATUSES: dict[str, Status] = {"1": "firing", "0": "recovered", "-": "firing"}
# A managed-Prometheus alert routed through a notification template is a metric alarm whose
# object is one alert's label set (docs/sources/tencent.md "Prometheus alarm policies").
_KINDS: dict[str, Kind] = {"metric": "metric", "event": "event", "prometheus": "metric"}
_LEVELS = {"remind": "Remind", "warn": "Warn", "serious": "Serious"}

# Instance id keys across products (FORMAT.md §7), most specific first; objId is the fallback
# because for CVM it is an opaque UUID rather than the id people know.
_INSTANCE_ID_KEYS = (
    "unInstanceId",
    "uInstanceId",
    "un_instance_id",
    "InstanceId",
    "instanceId",
    "instanceid",
    "instance_id",
    "uid",
    "target",
    "clusterid",
    "ClusterId",
    "FileSystemId",
    "bucket",
    "uniq_nat_id",
    "vpnconnid",
    "directconnectgatewayid",
    "peeringconnectionid",
    "netdetectid",
    "directconnectid",
    "directconnectconnid",
    "diskid",
    "grpid",
    "function_name",
    "domain",
    # APM: the service is what people know; the APM instance when no service is named.
    "service.name",
    "tapm.instance.key",
)
_LISTENER_PORT_KEYS = ("vport", "loadBalancerPort", "port")

# Values Tencent sends in recoverTime while an alarm is unresolved (or can never resolve).
_NO_RECOVERY = frozenset({"", "0"})


def parse_notification(payload: dict[str, Any], *, default_tz: tzinfo) -> Notification:
    """Read one callback body; times without an offset are local times in ``default_tz``."""
    _require_alarm_shape(payload)
    top = _Fields(payload)
    obj = _Fields(_object(top, "alarmObjInfo") or {})
    policy = _Fields(_object(top, "alarmPolicyInfo") or {})
    conditions = _Fields(_object(policy, "conditions", "alarmPolicyInfo.conditions") or {})
    dimensions = _object(obj, "dimensions", "alarmObjInfo.dimensions") or {}

    status = _status(top)
    kind = _kind(top, conditions)
    prometheus = is_prometheus(top)
    labels = optional_object(obj, "labels")
    dimensions = object_dimensions(obj, {**labels, **dimensions})
    first_occurred_at = _first_occurred_at(top, default_tz)
    duration = _duration(top)
    recovered_at = _recovered_at(top, status, first_occurred_at, duration, default_tz)
    additional_msg = _additional_msg(top)
    metric = _metric_fields(conditions) if kind == "metric" else {}
    if prometheus and not metric["metric_name"]:
        # A Prometheus alert is named by its alertname label (the rule's name).
        metric["metric_name"] = _dimension_text(dimensions, "alertname")
    event = _event_fields(conditions) if kind == "event" else {}

    return Notification(
        source=SOURCE,
        kind=kind,
        status=status,
        session_id=top.text("sessionId"),
        first_occurred_at=first_occurred_at,
        recovered_at=recovered_at,
        duration_seconds=duration,
        region=obj.text("region") or _dimension_text(dimensions, "region", "__region__"),
        namespace=_namespace(obj, kind, event.get("product_name", ""), prometheus=prometheus),
        policy_id=policy.text("policyId"),
        policy_name=policy.text("policyName"),
        policy_type=policy.text("policyType"),
        policy_type_cname=policy.text("policyTypeCName"),
        policy_type_ename=policy.text("policyTypeEname"),
        instance_id=(prometheus and _dimension_text(dimensions, "instance"))
        or _instance_id(dimensions),
        instance_name=_dimension_text(dimensions, "deviceName", "objName")
        or additional_msg.get("alias", "")
        or (prometheus and _dimension_text(dimensions, "instance"))
        or _dimension_text(dimensions, "service.name"),
        dimensions=dimensions,
        additional_msg=additional_msg,
        level=_level(top, policy, obj),
        **metric,
        **event,
        extras=_extras(top, obj, policy, conditions),
    )


# --- shape and scalars -------------------------------------------------------------------------


def _require_alarm_shape(payload: Any) -> None:
    """Reject bodies that are not alarm callbacks at all (custom templates, acks, fragments)."""
    if not isinstance(payload, dict):
        raise NotAnAlarm(f"not a Tencent alarm: the body is {_describe(payload)}, not an object")
    missing = []
    # Pre-2019 bodies have no alarmType; an alarmType alone is enough to tolerate a missing policy.
    if payload.get("alarmPolicyInfo") is None and payload.get("alarmType") is None:
        missing.append("alarmPolicyInfo")
    missing += [
        key for key in ("alarmObjInfo", "firstOccurTime", "alarmStatus") if payload.get(key) is None
    ]
    if missing:
        raise NotAnAlarm(f"not a Tencent alarm: missing {', '.join(missing)}")


def _object(fields: _Fields, key: str, label: str | None = None) -> dict[str, Any] | None:
    """A nested JSON object, None when absent; any other type means the body is malformed."""
    value = fields.raw(key)
    if value is None:
        fields.mark(key)
        return None
    if not isinstance(value, dict):
        raise NotAnAlarm(f"{label or key} must be an object, got {_describe(value)}")
    fields.mark(key)
    return value


# --- status, kind and times --------------------------------------------------------------------


def _status(top: _Fields) -> Status:
    raw = top.raw("alarmStatus")
    status = _STATUSES.get(_as_text(raw) or "")
    if status is None:
        raise NotAnAlarm(f"alarmStatus must be 1, 0 or '-', got {_describe(raw)}")
    top.mark("alarmStatus")
    return status


def _kind(top: _Fields, conditions: _Fields) -> Kind:
    raw = top.raw("alarmType")
    if not _is_blank(raw):
        kind = _KINDS.get(raw.strip().lower()) if isinstance(raw, str) else None
        if kind is None:
            raise NotAnAlarm(
                f"alarmType must be 'metric', 'event' or 'prometheus', got {_describe(raw)}"
            )
        if raw.strip().lower() != PROMETHEUS:
            top.mark("alarmType")  # "prometheus" stays in extras: the kind alone cannot say it
        return kind
    top.mark("alarmType")
    if _as_text(conditions.raw("eventName")) or _as_text(conditions.raw("productName")):
        return "event"
    # Bodies without alarmType predate event alarms (2018 format), so they are metric alarms.
    return "metric"


def _first_occurred_at(top: _Fields, default_tz: tzinfo) -> datetime:
    raw = top.raw("firstOccurTime")
    when = _parse_time(raw, default_tz)
    if when is None:
        raise NotAnAlarm(
            f"firstOccurTime must be a time like 'YYYY-MM-DD HH:MM:SS', got {_describe(raw)}"
        )
    top.mark("firstOccurTime")
    return when


def _duration(top: _Fields) -> int | None:
    raw = top.raw("durationTime")
    seconds = _as_seconds(raw)
    if seconds is not None or _is_blank(raw):
        top.mark("durationTime")  # a rejected value (negative, garbage) stays in extras
    return seconds


def _recovered_at(
    top: _Fields,
    status: Status,
    first_occurred_at: datetime,
    duration: int | None,
    default_tz: tzinfo,
) -> datetime | None:
    """When a recovered alarm recovered: Tencent's recoverTime, else first occurrence + duration.

    A firing notification never has one, even with a populated recoverTime (a TCOP doc sample
    does that); the raw value then stays in extras.
    """
    raw = top.raw("recoverTime")
    if _is_unset_recovery(raw):
        top.mark("recoverTime")
        raw = None
    if status != "recovered":
        return None
    if raw is not None:
        when = _parse_time(raw, default_tz)
        if when is not None:
            top.mark("recoverTime")
            return when
    if duration:
        try:
            return first_occurred_at + timedelta(seconds=duration)
        except OverflowError:
            return None
    return None


def _is_unset_recovery(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, str) and value.strip() in _NO_RECOVERY


# --- where the alarm is ------------------------------------------------------------------------


def _namespace(obj: _Fields, kind: Kind, product_name: str, *, prometheus: bool) -> str:
    namespace = obj.text("namespace").lower()
    if not namespace and kind == "event" and product_name:
        # Event bodies carry no namespace; the product stands in for it (FORMAT.md §6).
        return f"qce/{product_name.lower()}"
    if not namespace and prometheus:
        return PROMETHEUS_NAMESPACE
    return namespace


def _dimension_text(dimensions: dict[str, Any], *keys: str) -> str:
    """The first non-empty value among ``keys``, matched exactly."""
    for key in keys:
        text = _as_text(dimensions.get(key))
        if text:
            return text
    return ""


def _dimension_text_folded(dimensions: dict[str, Any], *keys: str) -> str:
    """Like :func:`_dimension_text`, but ignoring key case (``unInstanceID``, ``INSTANCEID``)."""
    folded: dict[str, Any] = {}
    for key, value in dimensions.items():
        if isinstance(key, str) and _as_text(value):
            folded.setdefault(key.casefold(), value)
    return _dimension_text(folded, *(key.casefold() for key in keys))


def _instance_id(dimensions: dict[str, Any]) -> str:
    return (
        _dimension_text(dimensions, *_INSTANCE_ID_KEYS)
        or _dimension_text_folded(dimensions, *_INSTANCE_ID_KEYS)
        or _listener_id(dimensions)
        or _dimension_text(dimensions, "objId")
        or _dimension_text_folded(dimensions, "objId")
        or _dimension_text(dimensions, "id")
    )


def _listener_id(dimensions: dict[str, Any]) -> str:
    """CLB/VPN dimensions name no instance: build "vip:port/protocol" from what is there."""
    vip = _dimension_text(dimensions, "vip")
    if not vip:
        return ""
    port = _dimension_text(dimensions, *_LISTENER_PORT_KEYS)
    protocol = _dimension_text(dimensions, "protocol")
    return vip + (f":{port}" if port else "") + (f"/{protocol}" if protocol else "")


# --- what fired --------------------------------------------------------------------------------


def _metric_fields(conditions: _Fields) -> dict[str, Any]:
    unit = conditions.text("unit")
    if unit.lower() == "none":  # some senders put the literal "None" there
        unit = ""
    if not unit:
        # calcUnit is only read here, not consumed: it is the threshold's unit and stays in extras.
        unit = _as_text(conditions.raw("calcUnit")) or ""
    period = conditions.raw("period")
    # Out of range, the period is unknown and the value Tencent sent stays in extras.
    period_seconds = _as_seconds(period, maximum=MAX_PERIOD_SECONDS)
    if period_seconds is not None or _is_blank(period):
        conditions.mark("period")
    return {
        "metric_name": conditions.text("metricName"),
        "metric_display_name": conditions.text("metricShowName"),
        "operator": conditions.text("calcType"),
        "threshold": conditions.text("calcValue"),
        "unit": unit,
        "period_seconds": period_seconds,
        "current_value": conditions.text("currentValue"),
    }


def _event_fields(conditions: _Fields) -> dict[str, Any]:
    return {
        "event_name": conditions.text("eventName"),
        "event_display_name": conditions.text("eventShowName"),
        "product_name": conditions.text("productName"),
        "product_display_name": conditions.text("productShowName"),
    }


def _additional_msg(top: _Fields) -> dict[str, str]:
    """Event extras as a dict; the raw list is kept in extras if any entry had to be skipped."""
    raw = top.raw("additionalMsg")
    if _is_blank(raw):
        top.mark("additionalMsg")
        return {}
    if not isinstance(raw, list):
        return {}
    result: dict[str, str] = {}
    complete = True
    for entry in raw:
        key = _as_text(entry.get("key")) if isinstance(entry, dict) else None
        value = _as_text(entry.get("value")) if isinstance(entry, dict) else None
        if not key or value is None or key in result:
            complete = False
            continue
        result[key] = value
    if complete:
        top.mark("additionalMsg")
    return result


def _level(top: _Fields, policy: _Fields, obj: _Fields) -> str:
    """Tencent's alarm level: alarmLevel if sent, else the suffix of a tiered policy's alertId.

    A level Tencent did not document is kept as sent, never mapped onto another one.
    """
    level = top.text("alarmLevel") or policy.text("alarmLevel") or obj.text("level")
    if level:
        return _LEVELS.get(level.lower(), level)
    # alertId is kept in extras: it is the per-push id, the level is only its suffix.
    alert_id = _as_text(top.raw("alertId")) or ""
    _, underscore, suffix = alert_id.rpartition("_")
    return _LEVELS.get(suffix.lower(), "") if underscore else ""


def _extras(top: _Fields, obj: _Fields, policy: _Fields, conditions: _Fields) -> dict[str, Any]:
    """Unused keys, nested as in the payload (conditions stay under alarmPolicyInfo)."""
    annotations = annotations_of(top, obj)
    extras = top.leftovers()
    if annotations:
        extras["annotations"] = annotations
    policy_rest = policy.leftovers()
    if condition_rest := conditions.leftovers():
        policy_rest["conditions"] = condition_rest
    if obj_rest := obj.leftovers():
        extras["alarmObjInfo"] = obj_rest
    if policy_rest:
        extras["alarmPolicyInfo"] = policy_rest
    return extras
