"""Audit entries for what Django does without our services: logins and failed logins.

API tokens are audited by ``alarms.services.tokens`` itself.

Connected once in ``AlarmsConfig.ready()``. Signal handlers only record; they change nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed

from alarmhub.security import client_ip

from .audit import AuditAction, record

__all__ = ["connect"]


def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    record(
        action=AuditAction.LOGIN,
        actor=user,
        target=user,
        remote_addr=client_ip(request) if request is not None else None,
    )


def _on_login_failed(
    sender: Any, credentials: dict[str, Any], request: Any = None, **kw: Any
) -> None:
    # Django has already masked the password in ``credentials``; keep only the username tried.
    username = str(credentials.get("username", ""))
    record(
        action=AuditAction.LOGIN_FAILED,
        actor=None,
        target=username,
        remote_addr=client_ip(request) if request is not None else None,
        username=username[:150],
    )


def connect() -> None:
    # dispatch_uid: ready() may run twice (tests, autoreload); one entry per event.
    user_logged_in.connect(_on_login, dispatch_uid="alarmhub-audit-login")
    user_login_failed.connect(_on_login_failed, dispatch_uid="alarmhub-audit-login-failed")
