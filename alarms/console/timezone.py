"""The operator's time zone for console pages (DESIGN §6 "Times").

The zone is the user's saved preference, else the ``alarmhub_tz`` cookie (an IANA name the page
sets from the browser, or the header's zone picker), else ``settings.TIME_ZONE``
(``DJANGO_TIME_ZONE``). Only console views get it: the API stays UTC, and DRF would otherwise
render its datetimes in the active zone.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..models import UserPreference

COOKIE_NAME = "alarmhub_tz"
COOKIE_MAX_AGE = 365 * 24 * 3600
# Longest IANA name is ~32 characters; anything longer is not a zone and not worth a look-up.
MAX_ZONE_LENGTH = 64

# What the header's zone picker offers (plus the active zone, when it is not among them).
COMMON_ZONES = (
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Singapore",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Australia/Sydney",
)


def parse_zone(name: str | None) -> ZoneInfo | None:
    """The zone called ``name``, or None for anything that is not an IANA zone name."""
    if not name or len(name) > MAX_ZONE_LENGTH:
        return None
    try:
        return ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):  # ValueError: "../etc/passwd" and such
        return None


def preferred_zone(request: HttpRequest) -> ZoneInfo | None:
    """The user's saved preference (UserPreference.timezone), read once per request.

    One primary-key-sized look-up rather than a copy in the session: a zone remembered on
    one device applies on every other at its next page, and nothing goes stale.
    """
    if not hasattr(request, "alarmhub_saved_zone"):
        user = getattr(request, "user", None)
        name = ""
        if user is not None and user.is_authenticated:
            prefs = UserPreference.objects.filter(user_id=user.pk)
            name = prefs.values_list("timezone", flat=True).first() or ""
        # The header's "Remember this zone" box reads this back.
        request.alarmhub_saved_zone = name  # type: ignore[attr-defined]
    return parse_zone(getattr(request, "alarmhub_saved_zone", ""))


def zone_for(request: HttpRequest) -> ZoneInfo:
    """The zone a console page is shown in: preference, else cookie, else the site's zone."""
    return (
        preferred_zone(request)
        # Unquoted: a script that URL-encoded the name ("Asia%2FShanghai") still counts.
        or parse_zone(unquote(request.COOKIES.get(COOKIE_NAME, "")))
        or ZoneInfo(settings.TIME_ZONE)
    )


def zone_choices(active: str) -> list[str]:
    """The picker's options: the common zones, with the active one first when it is not one."""
    return list(COMMON_ZONES) if active in COMMON_ZONES else [active, *COMMON_ZONES]


class ConsoleTimezoneMiddleware:
    """Activates the operator's zone for console views only (after AuthenticationMiddleware)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            # Threads are reused across requests: never let one operator's zone leak.
            timezone.deactivate()

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: Any,
        view_kwargs: Any,
    ) -> None:
        # The URL is resolved by now, so the console's views are known without path prefixes.
        if getattr(view_func, "__module__", "").startswith("alarms.console."):
            timezone.activate(zone_for(request))
