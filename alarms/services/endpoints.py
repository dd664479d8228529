"""Callback endpoints: create, rotate, reconfigure. The endpoint cache forgets every change."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import CallbackEndpoint
from ..selectors.endpoints import forget_endpoint
from ..sources.registry import DEFAULT_SOURCE, SOURCES
from .audit import AuditAction, record

if TYPE_CHECKING:
    from ..permissions import Actor

CALLBACK_PATH = "/api/v1/callbacks/{token}/"


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", errors="surrogatepass")).hexdigest()


def validate_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(
            f"Unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)"
        ) from exc
    return name


def validate_source(name: str) -> str:
    if name not in SOURCES:
        known = ", ".join(sorted(SOURCES))
        raise ValidationError({"source": f"Unknown source {name!r} (one of: {known})"})
    return name


@dataclass(frozen=True)
class NewEndpoint:
    endpoint: CallbackEndpoint
    token: str  # shown once; only its hash is stored

    @property
    def path(self) -> str:
        return CALLBACK_PATH.format(token=self.token)


@transaction.atomic
def create_callback_endpoint(
    *,
    name: str,
    timezone: str | None = None,
    source: str = DEFAULT_SOURCE,
    basic_auth_username: str = "",
    basic_auth_password: str = "",
    bearer_token: str = "",
    actor: Actor | None = None,
    remote_addr: str | None = None,
) -> NewEndpoint:
    """Create an endpoint with a fresh 256-bit token; the token is returned once.

    ``bearer_token`` (optional) must then come as ``Authorization: Bearer <token>``, as
    Alertmanager's ``http_config.authorization`` sends it; only its SHA-256 is stored.
    ``actor`` and ``remote_addr`` are for the audit log (None: a command or AlarmHub itself).
    """
    if CallbackEndpoint.objects.filter(name=name).exists():
        raise ValidationError(f"An endpoint named {name!r} already exists")
    check_basic_auth(username=basic_auth_username, password=basic_auth_password)
    token = secrets.token_urlsafe(32)
    endpoint = CallbackEndpoint(
        name=name,
        token_hash=hash_token(token),
        token_hint=token[:6],
        # None means "the default"; an explicit "" (e.g. an unset shell variable) is an error.
        timezone=validate_timezone(
            settings.ALARMHUB_DEFAULT_TIMEZONE if timezone is None else timezone
        ),
        source=validate_source(source),
    )
    if basic_auth_username:
        endpoint.basic_auth_username = basic_auth_username
        endpoint.basic_auth_password_hash = make_password(basic_auth_password)
    endpoint.bearer_token_hash = _bearer_hash(bearer_token)
    endpoint.full_clean()
    endpoint.save()
    record(
        action=AuditAction.ENDPOINT_CREATED,
        actor=actor,
        target=endpoint,
        remote_addr=remote_addr,
        source=endpoint.source,
        timezone=endpoint.timezone,
        basic_auth=bool(basic_auth_username),
        bearer_token=bool(bearer_token),
        token_hint=endpoint.token_hint,
    )
    return NewEndpoint(endpoint=endpoint, token=token)


@transaction.atomic
def rotate_endpoint_token(
    *, endpoint: CallbackEndpoint, actor: Actor | None = None, remote_addr: str | None = None
) -> NewEndpoint:
    """Give an endpoint a new token; the old URL stops working (after the lookup cache TTL)."""

    old_hash, old_hint = endpoint.token_hash, endpoint.token_hint
    token = secrets.token_urlsafe(32)
    endpoint.token_hash = hash_token(token)
    endpoint.token_hint = token[:6]
    endpoint.save(update_fields=["token_hash", "token_hint"])
    _forget_now_and_on_commit(old_hash)
    record(
        action=AuditAction.ENDPOINT_TOKEN_ROTATED,
        actor=actor,
        target=endpoint,
        remote_addr=remote_addr,
        old_token_hint=old_hint,
        token_hint=endpoint.token_hint,
    )
    return NewEndpoint(endpoint=endpoint, token=token)


def _forget_now_and_on_commit(token_hash: str) -> None:
    """Drop the cached endpoint now and again after commit.

    A callback served between the two could otherwise re-cache the old row for a whole TTL.
    """
    forget_endpoint(token_hash)
    transaction.on_commit(lambda: forget_endpoint(token_hash))


def _stored(endpoint: CallbackEndpoint, *fields: str) -> tuple[Any, ...]:
    """The committed values of ``fields`` (the row locked until the change commits)."""
    return tuple(
        CallbackEndpoint.objects.select_for_update()
        .filter(pk=endpoint.pk)
        .values_list(*fields)
        .get()
    )


def check_basic_auth(*, username: str, password: str) -> None:
    """A Basic-auth username needs a password (an empty one would let anyone in)."""
    if username and not password:
        raise ValidationError(
            {"basic_auth_password": "A password is required with a Basic auth username."}
        )


@transaction.atomic
def set_endpoint_basic_auth(
    *,
    endpoint: CallbackEndpoint,
    username: str,
    password: str,
    actor: Actor | None = None,
    remote_addr: str | None = None,
) -> None:
    """Require HTTP Basic credentials (Tencent supports ``user:pass@host`` URLs); empty clears."""
    check_basic_auth(username=username, password=password)

    # From the row, not ``endpoint``: the admin's form has already set the new values on it.
    (old_username,) = _stored(endpoint, "basic_auth_username")
    endpoint.basic_auth_username = username
    endpoint.basic_auth_password_hash = make_password(password) if username else ""
    endpoint.save(update_fields=["basic_auth_username", "basic_auth_password_hash"])
    _forget_now_and_on_commit(endpoint.token_hash)
    # Neither the username nor the password goes into the log: only what kind of change it was.
    record(
        action=AuditAction.ENDPOINT_BASIC_AUTH_CHANGED,
        actor=actor,
        target=endpoint,
        remote_addr=remote_addr,
        was_enabled=bool(old_username),
        enabled=bool(username),
        username_changed=username != old_username,
        password_changed=bool(username and password),
    )


def _bearer_hash(token: str) -> str:
    """SHA-256 hex of a bearer token, "" for none; it must fit one Authorization header."""
    if not token:
        return ""
    if len(token) > 1024 or not token.isascii() or not token.isprintable() or " " in token:
        raise ValidationError(
            {"bearer_token": "A bearer token is 1 to 1024 printable ASCII characters, no spaces."}
        )
    return hash_token(token)


@transaction.atomic
def set_endpoint_bearer_token(
    *,
    endpoint: CallbackEndpoint,
    token: str,
    actor: Actor | None = None,
    remote_addr: str | None = None,
) -> None:
    """Require ``Authorization: Bearer <token>`` on callbacks; an empty token clears it.

    Other processes see the change within the endpoint cache TTL (ENDPOINT_CACHE_SECONDS).
    """
    new_hash = _bearer_hash(token)
    (old_hash,) = _stored(endpoint, "bearer_token_hash")
    endpoint.bearer_token_hash = new_hash
    endpoint.save(update_fields=["bearer_token_hash"])
    # The bearer hash is cached with the endpoint: the next callback must present the new token.
    _forget_now_and_on_commit(endpoint.token_hash)
    # Never the token, nor its hash: only what kind of change it was.
    record(
        action=AuditAction.ENDPOINT_CHANGED,
        actor=actor,
        target=endpoint,
        remote_addr=remote_addr,
        bearer_token={"was_enabled": bool(old_hash), "enabled": bool(new_hash)},
    )


@transaction.atomic
def update_callback_endpoint(
    *,
    endpoint: CallbackEndpoint,
    timezone: str | None = None,
    is_active: bool | None = None,
    actor: Actor | None = None,
    remote_addr: str | None = None,
) -> CallbackEndpoint:
    """Change an endpoint's time zone or (de)activate it; the lookup cache forgets it now.

    Other processes see the change within the endpoint cache TTL (ENDPOINT_CACHE_SECONDS).
    """

    fields: list[str] = []
    old_timezone, was_active = _stored(endpoint, "timezone", "is_active")
    if timezone is not None:
        endpoint.timezone = validate_timezone(timezone)
        fields.append("timezone")
    if is_active is not None:
        endpoint.is_active = is_active
        fields.append("is_active")
    if fields:
        endpoint.save(update_fields=fields)
        _forget_now_and_on_commit(endpoint.token_hash)
    if endpoint.timezone != old_timezone:
        record(
            action=AuditAction.ENDPOINT_CHANGED,
            actor=actor,
            target=endpoint,
            remote_addr=remote_addr,
            timezone={"old": old_timezone, "new": endpoint.timezone},
        )
    if endpoint.is_active != was_active:
        action = (
            AuditAction.ENDPOINT_ACTIVATED
            if endpoint.is_active
            else AuditAction.ENDPOINT_DEACTIVATED
        )
        record(action=action, actor=actor, target=endpoint, remote_addr=remote_addr)
    return endpoint


@transaction.atomic
def set_endpoint_quota(
    *,
    endpoint: CallbackEndpoint,
    per_minute: int | None,
    actor: Actor | None = None,
    remote_addr: str | None = None,
) -> None:
    """Cap the callbacks the endpoint stores per minute (None: ALARMHUB_MAX_DELIVERIES_PER_MINUTE).

    Past the cap the callback answers 429 with retCode 1 (Tencent retries) and stores nothing.
    """
    if per_minute is not None and per_minute < 0:
        raise ValidationError({"max_deliveries_per_minute": "The quota cannot be negative."})
    (old,) = _stored(endpoint, "max_deliveries_per_minute")
    if per_minute == old:
        return
    endpoint.max_deliveries_per_minute = per_minute
    endpoint.save(update_fields=["max_deliveries_per_minute"])
    _forget_now_and_on_commit(endpoint.token_hash)  # the quota is cached with the endpoint
    record(
        action=AuditAction.ENDPOINT_CHANGED,
        actor=actor,
        target=endpoint,
        remote_addr=remote_addr,
        max_deliveries_per_minute={"old": old, "new": per_minute},
    )
