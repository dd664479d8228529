"""AlarmHub's domain model (DESIGN §2).

Every state change goes through ``alarms.services``; these classes only describe data,
constraints and the indexes that the UI and API queries need.
"""

from __future__ import annotations

from .alarms import Alarm, AlarmEvent, Note
from .catalogue import Instance, Policy
from .deliveries import Delivery
from .endpoints import CallbackEndpoint
from .notify import AckExpiryRule, Channel, OutboundAttempt, OutboundMessage, Silence
from .ops import Heartbeat, PruneTally
from .people import ApiToken, AuditEntry, SavedView, UserPreference
from .stats import StatsDirtyHour, StatsHour, StatsRecovery

__all__ = [
    "AckExpiryRule",
    "Alarm",
    "AlarmEvent",
    "ApiToken",
    "AuditEntry",
    "CallbackEndpoint",
    "Channel",
    "Delivery",
    "Heartbeat",
    "Instance",
    "Note",
    "OutboundAttempt",
    "OutboundMessage",
    "Policy",
    "PruneTally",
    "SavedView",
    "Silence",
    "StatsDirtyHour",
    "StatsHour",
    "StatsRecovery",
    "UserPreference",
]
