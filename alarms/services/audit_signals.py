"""Audit entries for what Django and DRF do without our services: logins and API tokens.

Connected once in ``AlarmsConfig.ready()``. Signal handlers only record; they change nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save

from alarmhub.security import client_ip

from .audit import AuditAction, record

__all__ = ["acting", "connect"]

# Who is acting, for handlers of signals that carry no request (API tokens saved by the admin).
_acting: ContextVar[tuple[Any, str | None] | None] = ContextVar(
    "alarmhub_audit_actor", default=None
)


@contextmanager
def acting(actor: Any, remote_addr: str | None) -> Iterator[None]:
    """Attribute the audit entries that signals write inside this block to ``actor``."""
    reset = _acting.set((actor, remote_addr))
    try:
        yield
    finally:
        _acting.reset(reset)


def _actor() -> tuple[Any, str | None]:
    return _acting.get() or (None, None)


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


def _on_token_saved(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    if created:
        # The key is a bearer secret: only whose token it is goes into the log. The actor is
        # known when the admin saved it (``acting``); drf_create_token leaves it empty.
        actor, remote_addr = _actor()
        record(
            action=AuditAction.API_TOKEN_CREATED,
            actor=actor,
            target=instance.user,
            remote_addr=remote_addr,
        )


def _on_token_deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    actor, remote_addr = _actor()
    record(
        action=AuditAction.API_TOKEN_REVOKED,
        actor=actor,
        target=instance.user,
        remote_addr=remote_addr,
    )


def connect() -> None:
    from rest_framework.authtoken.models import Token, TokenProxy

    # dispatch_uid: ready() may run twice (tests, autoreload); one entry per event.
    user_logged_in.connect(_on_login, dispatch_uid="alarmhub-audit-login")
    user_login_failed.connect(_on_login_failed, dispatch_uid="alarmhub-audit-login-failed")
    # The admin saves the proxy model, and signals name the instance's own class: connect both.
    for model in (Token, TokenProxy):
        name = model.__name__
        post_save.connect(
            _on_token_saved, sender=model, dispatch_uid=f"alarmhub-audit-{name}-saved"
        )
        post_delete.connect(
            _on_token_deleted, sender=model, dispatch_uid=f"alarmhub-audit-{name}-deleted"
        )
