"""API permissions: the operator roles (``alarms.permissions``) decide, per view action.

Services check the same permissions again (``check_can_*``); these classes give the early 403 and
put the rules where the schema and the tests can see them.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class HasActionPermissions(BasePermission):
    """Require the Django permissions the view lists for the current action.

    The view defines ``action_permissions``: a mapping of action name to permission names, with
    ``"*"`` as the fallback. An action with no entry and no fallback is refused (fail closed).
    """

    message = "You do not have the role this requires."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        perms = self.required_permissions(view)
        return perms is not None and user.has_perms(perms)

    @staticmethod
    def required_permissions(view: Any) -> Iterable[str] | None:
        table: dict[str, Iterable[str]] = getattr(view, "action_permissions", {})
        action = getattr(view, "action", None) or ""
        return table.get(action, table.get("*"))


class IsStaff(BasePermission):
    """Staff users only (raw deliveries can hold anything a sender posted)."""

    message = "Only staff users may see deliveries."

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)
