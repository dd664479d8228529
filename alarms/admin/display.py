"""Presentation helpers for the admin's columns and read-only fields.

How an alarm reads (its condition, who acted) is shared with the console: see ``alarms.display``.
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import urlencode

from django.db.models import Model
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from ..console.css import colour_class
from ..display import humanize_duration
from ..pipeline.payload import storable_text

__all__ = [
    "EMPTY_DISPLAY",
    "admin_link",
    "changelist_url",
    "humanize_duration",
    "pretty_body",
    "pretty_json",
    "printable",
    "status_badge",
    "viewing_user",
    "with_viewing_user",
]

# What read-only fields show for "nothing" (the admin would print "None").
EMPTY_DISPLAY = "-"


def printable(text: str) -> str:
    """``text`` with lone surrogates (and NUL) as U+FFFD.

    JSON may escape a lone surrogate (``"\\ud800"``); decoded, it cannot be encoded as UTF-8 and
    the whole page would answer 500.
    """
    return storable_text(text)


def pretty_json(value: Any) -> SafeString:
    """JSON (or text that may be JSON) as an escaped, indented ``<pre>`` block."""
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    return format_html('<pre class="alarmhub-pre">{}</pre>', printable(text))


def pretty_body(body: bytes | memoryview | None) -> SafeString:
    """A raw delivery body for humans: pretty JSON when it parses, else the text as received."""
    if body is None:
        return format_html("<em>{}</em>", gettext("(pruned by retention)"))
    text = bytes(body).decode("utf-8", errors="replace")
    # Not JSON (or absurdly nested): show the text as received, still escaped.
    with contextlib.suppress(ValueError, RecursionError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    return format_html('<pre class="alarmhub-pre">{}</pre>', printable(text))


def status_badge(label: Any, colour: str) -> SafeString:
    # A class, not a style attribute: the CSP forbids inline styles (alarms/console/css.py).
    return format_html('<span class="alarmhub-badge {}">{}</span>', colour_class(colour), label)


def admin_link(user: Any, obj: Model | None, text: Any = None) -> Any:
    """A link to ``obj``'s admin page when ``user`` may view it, else its plain text."""
    if obj is None:
        return EMPTY_DISPLAY
    label = obj if text is None else text
    opts = obj._meta
    if user is None or not user.has_perm(f"{opts.app_label}.view_{opts.model_name}"):
        return label
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, label)


def with_viewing_user(obj: Model | None, request: HttpRequest) -> Any:
    """Remember who is looking at ``obj`` so read-only fields can link by permission.

    ModelAdmin instances are shared by all requests (and threads); the object fetched for this
    request is not, so that is where the user goes.
    """
    if obj is not None:
        # Our own per-request attribute: Model declares no such field.
        obj._alarmhub_viewer = request.user  # type: ignore[attr-defined]
    return obj


def viewing_user(obj: Model) -> Any:
    return getattr(obj, "_alarmhub_viewer", None)


def changelist_url(model: type[Model], **params: Any) -> str:
    opts = model._meta
    url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    return f"{url}?{urlencode(params)}" if params else url
