"""The operator roles AlarmHub ships with, as Django groups (kept in sync by a migration)."""

from __future__ import annotations

VIEWER = "Viewer"
OPERATOR = "Operator"

_READ = [
    "view_alarm",
    "view_alarmevent",
    "view_note",
    "view_policy",
    "view_instance",
    "view_callbackendpoint",
    "view_delivery",
]

# codenames of app "alarms" per group
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _READ,
    OPERATOR: [*_READ, "acknowledge_alarm", "annotate_alarm", "add_note", "reprocess_delivery"],
}
