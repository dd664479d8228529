"""Body shapes beyond plain metric and event alarms: managed Prometheus, APM, object-level keys.

Pure helpers for :mod:`.parser`; docs/sources/tencent.md says where each rule comes from.
"""

from __future__ import annotations

from typing import Any

from .values import Fields, as_text

PROMETHEUS = "prometheus"
# Tencent sends no namespace for a managed-Prometheus alert; this one names the product.
PROMETHEUS_NAMESPACE = "qce/prometheus"

# Keys some shapes put on alarmObjInfo itself rather than in its dimensions. They say which
# object fired, so they join the dimensions (and the identity).
OBJECT_IDENTITY_KEYS = frozenset({"id", "instanceId", "operation"})
# alarmObjInfo keys that describe the account or the message, not which object fired.
OBJECT_ENVELOPE_KEYS = frozenset(
    {"region", "namespace", "appId", "uin", "dimensions", "level", "labels", "annotations"}
)


def is_prometheus(top: Fields) -> bool:
    raw = top.raw("alarmType")
    return isinstance(raw, str) and raw.strip().lower() == PROMETHEUS


def optional_object(fields: Fields, key: str) -> dict[str, Any]:
    """A nested object only some shapes send; any other value is left in extras as it was."""
    value = fields.raw(key)
    if not isinstance(value, dict):
        return {}
    fields.mark(key)
    return value


def object_dimensions(obj: Fields, dimensions: dict[str, Any]) -> dict[str, Any]:
    """The object's dimensions plus the identifying keys a shape put on alarmObjInfo itself.

    ``id``/``instanceId``, APM's ``operation`` and dotted keys (APM's OpenTelemetry attribute
    names such as ``service.name``, ``span.kind``) name the object that fired, so two operations
    of one service stay two alarms. A key already in ``dimensions`` keeps that value; the other
    stays in extras.
    """
    merged = dict(dimensions)
    for key, value in obj.data.items():
        if not isinstance(key, str) or key in OBJECT_ENVELOPE_KEYS:
            continue
        if key not in OBJECT_IDENTITY_KEYS and "." not in key:
            continue
        text = as_text(value)
        if not text or (key in merged and as_text(merged[key]) != text):
            continue
        merged.setdefault(key, value)
        obj.mark(key)
    return merged


def annotations_of(top: Fields, obj: Fields) -> dict[str, str]:
    """A Prometheus alert's annotations (summary, description, runbook_url, ...) as text.

    Shown on the alarm page like an Alertmanager alert's; not identifying (Prometheus docs).
    """
    merged = {**optional_object(top, "annotations"), **optional_object(obj, "annotations")}
    annotations: dict[str, str] = {}
    for key, value in merged.items():
        text = as_text(value)
        if text:
            annotations[str(key)] = text
    return annotations
