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
MANAGE_CHANNEL = "alarms.manage_channel"
VIEW_SILENCE = "alarms.view_silence"
ADD_SILENCE = "alarms.add_silence"
CHANGE_SILENCE = "alarms.change_silence"
DELETE_SILENCE = "alarms.delete_silence"

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
    "view_silence",
]

# codenames of app "alarms" per group
ROLE_PERMISSIONS: dict[str, list[str]] = {
    VIEWER: _READ,
    OPERATOR: [
        *_READ,
        "acknowledge_alarm",
        "annotate_alarm",
        "add_note",
        "reprocess_delivery",
        # Operators manage silences (DESIGN §6); channels stay with staff / manage_channel.
        "add_silence",
        "change_silence",
        "delete_silence",
    ],
}


def check_can_acknowledge(actor: Actor | None) -> None:
    """Raise PermissionDenied unless ``actor`` may (un)acknowledge; None is the system."""
    if actor is not None and not actor.has_perm(ACKNOWLEDGE_ALARM):
        raise PermissionDenied("You may not acknowledge alarms.")


def check_can_annotate(actor: Actor | None) -> None:
    """Raise PermissionDenied unless ``actor`` may add notes; None is the system."""
    if actor is not None and not actor.has_perm(ANNOTATE_ALARM):
        raise PermissionDenied("You may not add notes to alarms.")


def can_manage_channels(actor: Actor | None) -> bool:
    """Staff or the ``manage_channel`` permission (DESIGN §6 Channels); None is the system."""
    if actor is None:
        return True
    return bool(actor.is_authenticated and (actor.is_staff or actor.has_perm(MANAGE_CHANNEL)))


def check_can_manage_channels(actor: Actor | None) -> None:
    """Raise PermissionDenied unless ``actor`` may create, change or delete channels."""
    if not can_manage_channels(actor):
        raise PermissionDenied("You may not manage outbound channels.")


_SILENCE_PERMISSION = {"add": ADD_SILENCE, "change": CHANGE_SILENCE, "delete": DELETE_SILENCE}


def check_can_manage_silences(actor: Actor | None, action: str) -> None:
    """Raise PermissionDenied unless ``actor`` may ``action`` ("add", "change", "delete")
    silences: Operators (the model permission) or holders of ``manage_channel``. Staff alone
    is not enough: here it only means "may log in to the admin"."""
    if actor is not None and not (
        actor.has_perm(_SILENCE_PERMISSION[action]) or actor.has_perm(MANAGE_CHANNEL)
    ):
        raise PermissionDenied("You may not manage silences.")
