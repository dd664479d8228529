"""AlarmHub's domain model (DESIGN §2).

Every state change goes through ``alarms.services``; these classes only describe data,
constraints and the indexes that the UI and API queries need.
"""

from __future__ import annotations

from .alarms import Alarm, AlarmEvent, Note
from .catalogue import Instance, Policy
from .deliveries import Delivery
from .endpoints import CallbackEndpoint
from .ops import Heartbeat

__all__ = [
    "Alarm",
    "AlarmEvent",
    "CallbackEndpoint",
    "Delivery",
    "Heartbeat",
    "Instance",
    "Note",
    "Policy",
]
