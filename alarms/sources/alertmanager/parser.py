"""Prometheus Alertmanager webhook bodies, read into :class:`Notification` objects.

Pure: a decoded JSON object in, a list of normalised notifications out, no Django and no I/O.
The body is what Alertmanager's ``webhook_configs`` receiver POSTs (the "webhook_config" section
of the Alertmanager configuration docs; ``notify/webhook`` in its source), version ``"4"``:
group-level ``receiver``, ``status``, ``groupLabels``, ``commonLabels``, ``commonAnnotations``,
``externalURL``, ``groupKey``, ``truncatedAlerts`` and ``alerts[]``, each alert with ``status``,
``labels``, ``annotations``, ``startsAt``, ``endsAt``, ``generatorURL`` and ``fingerprint``.
One body carries every alert of one aggregation group, so each alert becomes one notification.
``docs/sources/alertmanager.md`` describes the mapping for operators.

Where each rule comes from:

- **Identity is the alert's whole label set.** Alertmanager itself identifies an alert by its
  labels (``fingerprint`` is a hash of them) and annotations "are not identifying" (Prometheus
  docs, "Alertmanager clients"). Pairing by alert name alone, as a peer product does, gives every
  host firing the same rule one identity, so one host's recovery closes another's alarm. So
  every label lands in an identity field: ``alertname`` in the policy and subject, ``severity``
  in the level, ``job`` in the namespace, and every other label, ``instance``, ``region`` and
  ``cluster`` included, in ``dimensions``. ``region`` and ``cluster`` stay dimensions even though
  one of them also fills ``region``: the region field cannot say which label it came from, so
  without them ``{region: eu}`` and ``{cluster: eu}`` would share an identity.
- **Alertmanager's ``fingerprint`` is kept in extras, not used as the identity.** It is a fine
  summary of the labels, but it is Alertmanager's own 64-bit hash and ignores the endpoint; an
  AlarmHub fingerprint is always :meth:`Notification.fingerprint` over the identity fields, the
  same for every source, so ``explain_delivery`` can show the fields that made it.
- **A label with an empty value does not exist.** That is Prometheus's and Alertmanager's rule
  (Alertmanager drops empty labels on receipt), so ``job: ""`` is the same as no ``job``.
- **Label keys that base.py treats as display-only** (``objName``, ``deviceName``, ``objDetail``,
  Tencent names a renamed instance must not split on) would drop out of the identity; such a
  label is stored under ``label:<name>``. Prometheus label names cannot contain ``:``, so the
  prefix cannot collide with a real label (and a key that already starts with it is prefixed
  again, which keeps the mapping one-to-one for any JSON).
- **Lifecycle key is ``startsAt``.** Alertmanager keeps it for as long as the alert fires, so
  ``group_interval`` and ``repeat_interval`` re-sends of a firing alert carry the same labels and
  the same ``startsAt``: the lifecycle layer sees a repeat. A firing alert's ``endsAt`` is
  ignored: Alertmanager zeroes it in webhooks (``0001-01-01T00:00:00Z``), and another sender may
  put a lease there that moves on every send; nothing derived from it may vary between repeats.
- **``status: resolved`` is a recovery**, at ``endsAt`` (None for the zero time or a value that
  cannot be read; the raw text is then kept in extras); any other status is not an alarm.
- **Times are RFC 3339** as Go writes them: nanoseconds (truncated to microseconds), ``Z`` or an
  offset; a time without an offset is read in ``default_tz``. All are returned in UTC.
- **Labels and annotations are text.** A non-string value (a misbehaving sender) is stored as its
  JSON text, so ``1`` and ``"1"`` are the same label value, as they are for Tencent dimensions.
- **Group-level fields** kept per alert are the ones that do not change with the group's
  composition (``receiver``, ``externalURL``, ``groupKey``, ``version``); ``status``,
  ``commonLabels`` and ``truncatedAlerts`` describe the push, not the alarm, and are left out.
- **Only the shape is checked, not ``version``.** Alertmanager has only ever sent ``"4"``; a body
  with another version but the same shape is read, and the version is kept in extras.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any

from alarms.sources.base import DISPLAY_ONLY_DIMENSIONS, NotAnAlarm, Notification, Status

NAME = "alertmanager"
name = NAME  # the attribute ``alarms.sources.base.Source`` and the registry read

_STATUSES: dict[str, Status] = {"firing": "firing", "resolved": "recovered"}

# Labels already carried by an identity field other than dimensions (see the module docstring).
_REPRESENTED_LABELS = frozenset({"alertname", "severity", "job"})
_ESCAPE_PREFIX = "label:"

_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})"  # date and time
    r"(?:\.(\d+))?"  # optional fractional seconds, up to nanoseconds (or more)
    r"([Zz]|[+-]\d{2}:?\d{2})?",  # optional offset
    re.ASCII,
)
_OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})", re.ASCII)
_EXAMPLE_TIME = "2026-12-03T07:52:15.123456789Z"


def parse(payload: dict[str, Any], *, default_tz: tzinfo) -> list[Notification]:
    """One notification per alert of the body, in the body's order.

    Times without an offset are read in ``default_tz``. Raises :class:`NotAnAlarm` when the
    body is not an Alertmanager webhook body or one of its alerts cannot be read.
    """
    if not isinstance(payload, dict):
        raise NotAnAlarm(
            f"not an Alertmanager webhook body: the body is {_describe(payload)}, not an object"
        )
    alerts = payload.get("alerts")
    if alerts is None:
        raise NotAnAlarm("not an Alertmanager webhook body: no 'alerts' list")
    if not isinstance(alerts, list):
        raise NotAnAlarm(
            f"not an Alertmanager webhook body: 'alerts' must be a list, got {_describe(alerts)}"
        )
    if not alerts:
        raise NotAnAlarm("no alerts: the body's 'alerts' list is empty")
    group = _group_extras(payload)
    return [_notification(index, alert, group, default_tz) for index, alert in enumerate(alerts)]


def _notification(
    index: int, alert: Any, group: dict[str, str], default_tz: tzinfo
) -> Notification:
    where = f"alert {index}"
    if not isinstance(alert, dict):
        raise NotAnAlarm(f"{where} must be an object, got {_describe(alert)}")
    status = _status(where, alert.get("status"))
    labels = _labels(where, alert.get("labels"))
    annotations = _annotations(where, alert.get("annotations"))
    first_occurred_at = _starts_at(where, alert.get("startsAt"), default_tz)

    extras: dict[str, Any] = {
        **group,
        "alertmanager_fingerprint": _field_text(where, "fingerprint", alert.get("fingerprint")),
        "generator_url": _field_text(where, "generatorURL", alert.get("generatorURL")),
        "annotations": annotations,
    }
    recovered_at: datetime | None = None
    duration: int | None = None
    if status == "recovered":
        raw_end = alert.get("endsAt")
        try:
            recovered_at = None if raw_end is None else _parse_time(raw_end, default_tz)
        except ValueError:
            # Still a recovery, only without a time; keep what was sent so it can be seen.
            extras["unreadable_ends_at"] = _describe(raw_end)
        if recovered_at is not None:
            seconds = int((recovered_at - first_occurred_at).total_seconds())
            duration = seconds if seconds >= 0 else None  # an end before the start is skew

    alertname = labels.get("alertname", "")
    job = labels.get("job", "")
    return Notification(
        source=NAME,
        kind="metric",
        status=status,
        session_id=_session_id(status, labels, first_occurred_at, recovered_at, extras),
        first_occurred_at=first_occurred_at,
        recovered_at=recovered_at,
        duration_seconds=duration,
        region=labels.get("region") or labels.get("cluster") or "",
        namespace=f"prometheus/{job}" if job else "prometheus",
        policy_id="",
        policy_name=alertname,
        policy_type="",
        instance_id=labels.get("instance", ""),
        instance_name=labels.get("instance", ""),
        dimensions=_dimensions(labels),
        metric_name=alertname,
        metric_display_name=annotations.get("summary", ""),
        event_display_name="",
        level=labels.get("severity", ""),
        extras=extras,
    )


# --- the alert's parts -------------------------------------------------------------------------


def _status(where: str, raw: Any) -> Status:
    status = _STATUSES.get(raw.strip().lower()) if isinstance(raw, str) else None
    if status is None:
        shown = "nothing" if raw is None else _describe(raw)
        raise NotAnAlarm(f"{where}: status must be 'firing' or 'resolved', got {shown}")
    return status


def _labels(where: str, raw: Any) -> dict[str, str]:
    """The alert's labels as text, sorted by name, without empty values (which do not exist)."""
    if raw is not None and not isinstance(raw, dict):
        raise NotAnAlarm(f"{where}: labels must be an object, got {_describe(raw)}")
    labels: dict[str, str] = {}
    for key, value in (raw or {}).items():
        text = _field_text(where, f"label {key!r}", value)
        if text:
            labels[str(key)] = text
    if not labels:
        raise NotAnAlarm(f"{where} has no labels: an alert is identified by its labels")
    return dict(sorted(labels.items()))


def _annotations(where: str, raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise NotAnAlarm(f"{where}: annotations must be an object, got {_describe(raw)}")
    return {
        str(key): _field_text(where, f"annotation {key!r}", value)
        for key, value in sorted(raw.items())
    }


def _dimensions(labels: dict[str, str]) -> dict[str, str]:
    """Every label not carried by another identity field, under a key identity keeps."""
    return {
        _dimension_key(key): value
        for key, value in labels.items()
        if key not in _REPRESENTED_LABELS
    }


def _dimension_key(key: str) -> str:
    if key in DISPLAY_ONLY_DIMENSIONS or key.startswith(_ESCAPE_PREFIX):
        return _ESCAPE_PREFIX + key
    return key


def _starts_at(where: str, raw: Any, default_tz: tzinfo) -> datetime:
    try:
        when = _parse_time(raw, default_tz)
    except ValueError:
        shown = "nothing" if raw is None else _describe(raw)
        raise NotAnAlarm(
            f"{where}: startsAt must be an RFC 3339 time like {_EXAMPLE_TIME!r}, got {shown}"
        ) from None
    if when is None:
        raise NotAnAlarm(f"{where}: startsAt is the zero time (0001-01-01T00:00:00Z), not a time")
    return when


def _session_id(
    status: Status,
    labels: dict[str, str],
    first_occurred_at: datetime,
    recovered_at: datetime | None,
    extras: dict[str, Any],
) -> str:
    """A stable stand-in for a per-push id, which Alertmanager does not send.

    ``rank()`` breaks ties between notifications of one lifecycle with the first 60 characters
    of this, so it is built only from what the notification carries: the status, the recovery
    time, and a short digest of the labels, start and extras (annotations and group fields).
    Two sends of the same firing alert get the same id; two that differ (an annotation quoting
    the current value) get different ids, so whichever order they are applied in, the same
    snapshot wins. At most 10 + 27 + 1 + 16 = 54 characters.
    """
    material = json.dumps(
        {"labels": labels, "starts_at": first_occurred_at.isoformat(), "extras": extras},
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    digest = hashlib.sha256(material.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    end = _compact(recovered_at) if recovered_at is not None else ""
    return f"{status}:{end}:{digest}"


def _compact(when: datetime) -> str:
    return when.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _group_extras(payload: dict[str, Any]) -> dict[str, str]:
    """Group-level fields worth showing on each alarm that do not vary with the group's members."""
    where = "the body"
    return {
        "receiver": _field_text(where, "receiver", payload.get("receiver")),
        "external_url": _field_text(where, "externalURL", payload.get("externalURL")),
        "group_key": _field_text(where, "groupKey", payload.get("groupKey")),
        "webhook_version": _field_text(where, "version", payload.get("version")),
    }


# --- scalars -----------------------------------------------------------------------------------


def _parse_time(value: Any, default_tz: tzinfo) -> datetime | None:
    """An RFC 3339 time as an aware UTC datetime; None for Go's zero time.

    Raises ValueError when the value is not a readable time.
    """
    if not isinstance(value, str):
        raise ValueError("not a string")
    match = _TIME.fullmatch(value.strip())
    if match is None:
        raise ValueError("not an RFC 3339 time")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    if (year, month, day, hour, minute, second) == ("0001", "01", "01", "00", "00", "00") and not (
        fraction or ""
    ).strip("0"):
        return None  # time.Time{}: Go's "no time"
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))  # nanoseconds are truncated
    try:
        zone = _offset(offset) if offset else default_tz
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond
        )
        return local.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError) as exc:  # 2026-02-30, 25:00, or out of datetime's range
        raise ValueError(str(exc)) from None


def _offset(text: str) -> tzinfo:
    if text in ("Z", "z"):
        return UTC
    match = _OFFSET.fullmatch(text)
    if match is None:
        raise ValueError(f"bad offset {text!r}")
    sign, hours, minutes = match.groups()
    if int(minutes) >= 60:
        raise ValueError(f"bad offset {text!r}")
    delta = timedelta(hours=int(hours), minutes=int(minutes))
    return timezone(-delta if sign == "-" else delta)  # raises ValueError beyond ±24 h


def _text(value: Any) -> str:
    """A JSON value as text: strings as they are, null as "", anything else as its JSON.

    Raises ValueError for an integer too long to write out.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _field_text(where: str, what: str, value: Any) -> str:
    try:
        return _text(value)
    except ValueError:
        raise NotAnAlarm(f"{where}: {what} is a number too long to read") from None


def _describe(value: Any) -> str:
    """A short, safe description of a value for messages (never a full repr)."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:40] + "…")
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    try:
        text = _text(value)
    except ValueError:
        return "a number"
    return text if len(text) <= 40 else "a number"
