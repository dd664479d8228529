"""The source-independent shape of one alarm notification.

A source (``alarms.sources.tencent``, ``alarms.sources.alertmanager``) turns a decoded JSON
payload into a list of :class:`Notification`; the lifecycle service only ever sees this type.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Literal, Protocol

Kind = Literal["metric", "event"]
Status = Literal["firing", "recovered"]


class NotAnAlarm(ValueError):
    """The payload is valid JSON but cannot be read as an alarm; the message says why."""


@dataclass(frozen=True, kw_only=True)
class Notification:
    """One normalised notification: a trigger, a repeat or a recovery."""

    source: str
    kind: Kind
    status: Status
    session_id: str
    first_occurred_at: datetime  # aware, UTC
    recovered_at: datetime | None  # aware, UTC; None while firing or when Tencent sent no time
    duration_seconds: int | None
    region: str
    namespace: str  # e.g. "qce/cvm"; for events without one, "qce/<productName>"
    policy_id: str
    policy_name: str
    policy_type: str
    policy_type_cname: str = ""
    policy_type_ename: str = ""
    instance_id: str
    instance_name: str
    dimensions: dict[str, Any] = field(default_factory=dict)
    # Metric condition snapshot (all "" / None for events).
    metric_name: str = ""
    metric_display_name: str = ""
    operator: str = ""
    threshold: str = ""
    unit: str = ""
    period_seconds: int | None = None
    current_value: str = ""
    # Event details (all "" for metrics).
    event_name: str = ""
    event_display_name: str = ""
    product_name: str = ""
    product_display_name: str = ""
    additional_msg: dict[str, str] = field(default_factory=dict)
    level: str = ""  # "Remind" | "Warn" | "Serious" | ""
    extras: dict[str, Any] = field(default_factory=dict)

    def identity_fields(self) -> dict[str, Any]:
        """The fields that make an alarm's identity (DESIGN §2), without the endpoint."""
        return {
            "source": self.source,
            "kind": self.kind,
            "policy": self.policy_id or f"name:{self.policy_name}",
            "namespace": self.namespace or self.product_name,
            "region": self.region,
            "dimensions": identity_dimensions(self.dimensions),
            "subject": self.metric_name if self.kind == "metric" else self.event_name,
            "level": self.level,
        }

    def fingerprint(self, endpoint_id: int) -> str:
        material = {"endpoint": endpoint_id, **self.identity_fields()}
        encoded = json.dumps(material, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        # surrogatepass: JSON may carry lone surrogates ("\ud800"); valid text hashes as before.
        return hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()

    def rank(self) -> str:
        """Sortable position of this notification within its lifecycle.

        A recovery ranks after every alarming notification, a longer duration after a shorter
        one; the session id breaks ties. The alarm keeps the snapshot of the highest rank, so
        deliveries applied in any order end in the same state.
        """
        stage = 1 if self.status == "recovered" else 0
        duration = max(self.duration_seconds or 0, 0)
        return f"{stage}:{min(duration, 10**15):016d}:{self.session_id[:60]}"


# Display-only dimension keys: a renamed instance must not split its alarm in two.
DISPLAY_ONLY_DIMENSIONS = frozenset({"objName", "deviceName", "objDetail"})


def identity_dimensions(dimensions: dict[str, Any]) -> dict[str, str]:
    """Dimensions that identify the monitored object, with values as strings (443 == "443")."""
    return {
        str(key): str(value).strip()
        for key, value in sorted(dimensions.items())
        if key not in DISPLAY_ONLY_DIMENSIONS and not isinstance(value, dict | list)
    }


class Source(Protocol):
    """What a source module provides (see ``alarms.sources.registry``)."""

    name: str

    def parse(self, payload: dict[str, Any], *, default_tz: tzinfo) -> list[Notification]:
        """Every notification one decoded body carries (raise NotAnAlarm when it has none)."""
        ...
