"""The LOGGING dict: every handler redacts callback tokens (alarmhub/logredact.py).

Kept out of ``alarmhub.settings`` for room; the settings module reads the environment and calls
:func:`logging_config`.
"""

from __future__ import annotations

from typing import Any


def logging_config(*, level: str) -> dict[str, Any]:
    """Django's LOGGING with the root logger at ``level`` (``DJANGO_LOG_LEVEL``).

    Callback tokens never reach a log (alarmhub/logredact.py): every handler filters records and
    formats through the redacting formatter (tracebacks too). Django's own "django" and
    "django.server" handlers are replaced by ours so that none is left unfiltered, and the filter
    also sits on django.request itself so that handlers added later (Sentry, caplog) see redacted
    records.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "redact_tokens": {"()": "alarmhub.logredact.RedactCallbackTokens"},
            "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"},
        },
        "formatters": {
            "plain": {
                "()": "alarmhub.logredact.RedactingFormatter",
                "format": "%(asctime)s %(levelname)s %(name)s %(message)s",
            },
            "django.server": {
                "()": "django.utils.log.ServerFormatter",
                "format": "[{server_time}] {message}",
                "style": "{",
            },
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "filters": ["redact_tokens"],
            },
            "django.server": {
                "class": "logging.StreamHandler",
                "formatter": "django.server",
                "filters": ["redact_tokens"],
            },
            "mail_admins": {
                "class": "django.utils.log.AdminEmailHandler",
                "level": "ERROR",
                "filters": ["require_debug_false", "redact_tokens"],
            },
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django": {"handlers": ["mail_admins"], "level": "INFO"},
            "django.request": {"filters": ["redact_tokens"]},
            "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False},
            "django.db.backends": {"level": "INFO"},
            # At DEBUG urllib3 logs each request line: robot keys and signatures are in the query.
            "urllib3": {"level": "WARNING"},
        },
    }
