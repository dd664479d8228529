"""Callback endpoints: create, rotate, reconfigure. The endpoint cache forgets every change."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import CallbackEndpoint
from ..selectors.endpoints import forget_endpoint
from ..sources.registry import DEFAULT_SOURCE, SOURCES

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
) -> NewEndpoint:
    """Create an endpoint with a fresh 256-bit token; the token is returned once."""
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
    endpoint.full_clean()
    endpoint.save()
    return NewEndpoint(endpoint=endpoint, token=token)


@transaction.atomic
def rotate_endpoint_token(*, endpoint: CallbackEndpoint) -> NewEndpoint:
    """Give an endpoint a new token; the old URL stops working (after the lookup cache TTL)."""

    old_hash = endpoint.token_hash
    token = secrets.token_urlsafe(32)
    endpoint.token_hash = hash_token(token)
    endpoint.token_hint = token[:6]
    endpoint.save(update_fields=["token_hash", "token_hint"])
    _forget_now_and_on_commit(old_hash)
    return NewEndpoint(endpoint=endpoint, token=token)


def _forget_now_and_on_commit(token_hash: str) -> None:
    """Drop the cached endpoint now and again after commit.

    A callback served between the two could otherwise re-cache the old row for a whole TTL.
    """
    forget_endpoint(token_hash)
    transaction.on_commit(lambda: forget_endpoint(token_hash))


def check_basic_auth(*, username: str, password: str) -> None:
    """A Basic-auth username needs a password (an empty one would let anyone in)."""
    if username and not password:
        raise ValidationError(
            {"basic_auth_password": "A password is required with a Basic auth username."}
        )


def set_endpoint_basic_auth(*, endpoint: CallbackEndpoint, username: str, password: str) -> None:
    """Require HTTP Basic credentials (Tencent supports ``user:pass@host`` URLs); empty clears."""
    check_basic_auth(username=username, password=password)

    endpoint.basic_auth_username = username
    endpoint.basic_auth_password_hash = make_password(password) if username else ""
    endpoint.save(update_fields=["basic_auth_username", "basic_auth_password_hash"])
    _forget_now_and_on_commit(endpoint.token_hash)


@transaction.atomic
def update_callback_endpoint(
    *, endpoint: CallbackEndpoint, timezone: str | None = None, is_active: bool | None = None
) -> CallbackEndpoint:
    """Change an endpoint's time zone or (de)activate it; the lookup cache forgets it now.

    Other processes see the change within the endpoint cache TTL (ENDPOINT_CACHE_SECONDS).
    """

    fields: list[str] = []
    if timezone is not None:
        endpoint.timezone = validate_timezone(timezone)
        fields.append("timezone")
    if is_active is not None:
        endpoint.is_active = is_active
        fields.append("is_active")
    if fields:
        endpoint.save(update_fields=fields)
        _forget_now_and_on_commit(endpoint.token_hash)
    return endpoint
