"""Who may do what: permission names, the operator roles, and the checks the services run.

Every permission string lives here once; views, the admin, the API and templates name these
constants (templates use ``perms.alarms.<codename>``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    # Who acts: a user (possibly anonymous when a view forgot to require a login, which the
    # checks below then refuse). `request.user` has this type; None means AlarmHub itself.
    Actor: TypeAlias = User | AnonymousUser

VIEW_ALARM = "alarms.view_alarm"
ACKNOWLEDGE_ALARM = "alarms.acknowledge_alarm"
ANNOTATE_ALARM = "alarms.annotate_alarm"
VIEW_DELIVERY = "alarms.view_delivery"
REPROCESS_DELIVERY = "alarms.reprocess_delivery"
VIEW_POLICY = "alarms.view_policy"
VIEW_INSTANCE = "alarms.view_instance"
VIEW_CALLBACK_ENDPOINT = "alarms.view_callbackendpoint"

# The operator roles AlarmHub ships with, as Django groups (kept in sync by migrations).
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


def check_can_acknowledge(actor: Actor | None) -> None:
    """Raise PermissionDenied unless ``actor`` may (un)acknowledge; None is the system."""
    if actor is not None and not actor.has_perm(ACKNOWLEDGE_ALARM):
        raise PermissionDenied("You may not acknowledge alarms.")


def check_can_annotate(actor: Actor | None) -> None:
    """Raise PermissionDenied unless ``actor`` may add notes; None is the system."""
    if actor is not None and not actor.has_perm(ANNOTATE_ALARM):
        raise PermissionDenied("You may not add notes to alarms.")
