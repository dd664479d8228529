"""API tokens (``Authorization: Token <key>``): create, revoke, stamp their use (issue 14, 13).

Only the key's sha256 is stored (``ApiToken.key_hash``); the key is returned once, by
:func:`create_token`. A token expires at ``expires_at`` (by default ``ALARMHUB_API_TOKEN_DAYS``
after it was made; unset: never) and stops working once revoked; revoked tokens are kept, so the
admin and the audit log can still name them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import ApiToken
from .audit import AuditAction, record

if TYPE_CHECKING:
    from ..permissions import Actor

__all__ = [
    "NewApiToken",
    "create_token",
    "default_lifetime",
    "hash_key",
    "mark_used",
    "revoke_token",
    "revoke_user_tokens",
]

# 160 random bits as 40 hex characters, the same shape as DRF's keys (scripts that read
# ``drf_create_token``'s output keep working).
KEY_BYTES = 20
PREFIX_LENGTH = 8
# ``last_used_at`` is written at most this often per token: one UPDATE per minute, not per request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class NewApiToken(NamedTuple):
    token: ApiToken
    key: str  # shown once; only its hash is stored


def hash_key(key: str) -> str:
    """The stored form of a key (migration 0012 hashes DRF's old keys the same way)."""
    return hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()


def default_lifetime() -> timedelta | None:
    days: int | None = getattr(settings, "ALARMHUB_API_TOKEN_DAYS", None)
    return timedelta(days=days) if days else None


def _audit_details(token: ApiToken) -> dict[str, Any]:
    # Never the key: the prefix (32 of its 160 bits) is enough to tell tokens apart.
    return {
        "token_id": token.pk,
        "prefix": token.prefix,
        "name": token.name,
        "expires_at": token.expires_at.isoformat() if token.expires_at else None,
    }


@transaction.atomic
def create_token(
    *,
    user: Any,
    name: str = "",
    expires_in: timedelta | None = None,
    expires_at: datetime | None = None,
    actor: Actor | None = None,
    remote_addr: str | None = None,
) -> NewApiToken:
    """Make a token for ``user``; returns it with its key, which nothing can show again.

    ``expires_at`` wins over ``expires_in``; with neither, the token gets the default lifetime
    (``ALARMHUB_API_TOKEN_DAYS``; unset: it never expires).
    """
    now = timezone.now()
    if expires_at is None:
        lifetime = expires_in if expires_in is not None else default_lifetime()
        expires_at = now + lifetime if lifetime is not None else None
    key = secrets.token_hex(KEY_BYTES)
    token = ApiToken.objects.create(
        key_hash=hash_key(key),
        prefix=key[:PREFIX_LENGTH],
        user=user,
        name=name[: ApiToken._meta.get_field("name").max_length or None],
        expires_at=expires_at,
    )
    record(
        action=AuditAction.API_TOKEN_CREATED,
        actor=actor,
        target=user,
        remote_addr=remote_addr,
        **_audit_details(token),
    )
    return NewApiToken(token=token, key=key)


@transaction.atomic
def revoke_token(
    *, token: ApiToken, actor: Actor | None = None, remote_addr: str | None = None
) -> bool:
    """Revoke ``token``; False (and no audit entry) when it already was."""
    now = timezone.now()
    # Compare-and-set: two admins revoking at once write one entry.
    if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        return False
    token.revoked_at = now
    record(
        action=AuditAction.API_TOKEN_REVOKED,
        actor=actor,
        target=token.user,
        remote_addr=remote_addr,
        **_audit_details(token),
    )
    return True


def revoke_user_tokens(
    *, user: Any, actor: Actor | None = None, remote_addr: str | None = None
) -> int:
    """Revoke every token of ``user`` that is not revoked yet; returns how many."""
    live = ApiToken.objects.filter(user=user, revoked_at__isnull=True).select_related("user")
    return sum(revoke_token(token=t, actor=actor, remote_addr=remote_addr) for t in live)


def mark_used(token: ApiToken, *, now: datetime | None = None) -> None:
    """Stamp ``last_used_at``, unless it was stamped less than a minute ago."""
    now = now or timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
