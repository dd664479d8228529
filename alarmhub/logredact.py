"""Keep callback tokens out of logs (issue 14, finding 2).

The token in ``/api/v1/callbacks/<token>/`` is the callback's only secret, and every layer that
logs a URL would write it down: Django's request logger (each 4xx/5xx), runserver's request
lines, gunicorn's access and error logs, error reports and tracebacks. Each is rewritten to the
token hint the admin shows (its first six characters) followed by ``…``, enough to tell endpoints
apart and useless to a reader of the log.

Wired in ``alarmhub.settings.LOGGING`` and ``deploy/gunicorn.conf.py``.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import Any

HINT_LENGTH = 6

# `callbacks/` then the token: the characters up to the end of the path segment. Also matches an
# encoded slash (`callbacks%2F...`), which some layers log undecoded.
_SEGMENT = r"[^/\s?#\"'<>\\]"
_TOKEN = re.compile(
    rf"(?P<prefix>callbacks(?:/|%2[fF]))(?P<hint>{_SEGMENT}{{0,{HINT_LENGTH}}}){_SEGMENT}+"
)


def redact(text: str) -> str:
    """``text`` with every callback token cut to its hint: ``callbacks/AbCdEf…/``."""
    if "callbacks" not in text:  # the common case costs one substring search
        return text
    return _TOKEN.sub(r"\g<prefix>\g<hint>…", text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def _redacted_request(request: Any) -> Any:
    """A shallow copy of an HttpRequest whose path and META hold no token (for error reports).

    A copy, not the live request: the request may still be in use when a record is logged.
    """
    path = getattr(request, "path", None)
    if not isinstance(path, str) or redact(path) == path:
        return request
    clone = copy.copy(request)
    clone.path = redact(path)
    clone.path_info = redact(getattr(request, "path_info", path))
    meta = getattr(request, "META", None)
    if isinstance(meta, dict):
        clone.META = {key: _redact_value(value) for key, value in meta.items()}
    return clone


class RedactCallbackTokens(logging.Filter):
    """Rewrite callback tokens in a record's message, arguments and ``request`` in place.

    In place, so that the handlers that run after this one (and pytest's caplog) see the
    redacted record too. Never drops a record.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _redact_value(record.msg)
        if isinstance(record.args, dict):
            record.args = {key: _redact_value(value) for key, value in record.args.items()}
        elif isinstance(record.args, tuple):
            record.args = tuple(_redact_value(value) for value in record.args)
        request = getattr(record, "request", None)
        if request is not None:
            record.request = _redacted_request(request)
        return True


class RedactingFormatter(logging.Formatter):
    """A Formatter whose whole output is redacted: tracebacks and exception messages included
    (a Resolver404 or DisallowedHost message can quote the path)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))
