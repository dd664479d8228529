"""The user's saved preferences (``UserPreference``): so far, the console's time zone."""

from __future__ import annotations

from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.db import transaction

from ..models import UserPreference

if TYPE_CHECKING:
    from django.contrib.auth.models import User


@transaction.atomic
def save_time_zone(*, user: User, zone: ZoneInfo | None) -> None:
    """Remember ``zone`` for ``user``; None forgets it (the cookie then decides again)."""
    if zone is None:
        UserPreference.objects.filter(user=user).update(timezone="")
        return
    # update_or_create locks the row (select_for_update) and writes only this field.
    UserPreference.objects.update_or_create(user=user, defaults={"timezone": zone.key})
