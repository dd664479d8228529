"""Status badge colours as a stylesheet, generated from alarms/choices.py.

The CSP allows no inline ``style`` attribute, so a badge names a class instead of a colour,
and this view (linked from the console's and the admin's ``<head>``) defines every class once.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import etag, require_safe

from ..choices import AlarmStatus, DeliveryStatus

_NOT_HEX = re.compile(r"[^0-9a-fA-F]")


def colour_class(colour: str) -> str:
    """The badge class for ``colour`` (``#dc3545`` → ``alarmhub-bg-dc3545``); "" for none."""
    digits = _NOT_HEX.sub("", colour).lower()
    return f"alarmhub-bg-{digits}" if digits else ""


@cache
def stylesheet() -> str:
    colours = sorted(
        {member.colour for member in AlarmStatus} | {member.colour for member in DeliveryStatus}
    )
    rules = [f".{colour_class(colour)} {{ background-color: {colour}; }}" for colour in colours]
    return "/* Generated from alarms/choices.py. */\n" + "\n".join(rules) + "\n"


def _etag(request: HttpRequest) -> str:
    return hashlib.sha256(stylesheet().encode()).hexdigest()[:16]


@require_safe
@etag(_etag)
def status_css(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(stylesheet(), content_type="text/css; charset=utf-8")
    # Public: the same for everyone, so the no-store rule for logged-in pages leaves it alone.
    response["Cache-Control"] = "public, max-age=3600"
    return response
