"""The endpoint a callback was sent to, with its credentials and quota: one cache read."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from ..models import CallbackEndpoint

# Endpoint look-ups are cached (the default cache: Redis in production) so a warm callback costs
# one cache read, one INSERT and no SELECT (one SELECT per endpoint every few seconds under any
# load). Every change through alarms.services.endpoints forgets the entry at once; a change made
# any other way takes effect within this TTL.
ENDPOINT_CACHE_SECONDS = 5
UNKNOWN_TOKEN_CACHE_SECONDS = 5


@dataclass(frozen=True)
class EndpointInfo:
    """What the callback view needs of an endpoint: everything it checks before storing."""

    id: int
    name: str
    timezone: str
    basic_auth_username: str
    basic_auth_password_hash: str
    bearer_token_hash: str  # "" when no bearer token is required
    max_deliveries_per_minute: int | None  # the endpoint's own quota; None: the default

    @property
    def quota_per_minute(self) -> int | None:
        """Callbacks per minute it may store: its own quota, else the setting (None: unlimited).

        The setting is read now, not cached, so a changed default needs no cache flush.
        """
        if self.max_deliveries_per_minute is not None:
            return self.max_deliveries_per_minute
        return getattr(settings, "ALARMHUB_MAX_DELIVERIES_PER_MINUTE", None)


_FIELDS = [
    "id",
    "name",
    "timezone",
    "basic_auth_username",
    "basic_auth_password_hash",
    "bearer_token_hash",
    "max_deliveries_per_minute",
]


def _cache_key(token_hash: str) -> str:
    # "v2": entries cached by an older release (without the bearer hash and quota) are never
    # read as this dataclass while both releases share a Redis during a rolling deploy.
    return f"alarmhub:endpoint:v2:{token_hash}"


def active_endpoint_for_token_hash(token_hash: str) -> EndpointInfo | None:
    """The active endpoint whose token hashes to ``token_hash``, or None."""
    key = _cache_key(token_hash)
    cached = cache.get(key)
    if cached is not None:
        return cached or None  # False marks a recently seen unknown token
    row = CallbackEndpoint.objects.filter(token_hash=token_hash, is_active=True).values(*_FIELDS)
    found = row.first()
    if found is None:
        cache.set(key, False, UNKNOWN_TOKEN_CACHE_SECONDS)
        return None
    info = EndpointInfo(**found)
    cache.set(key, info, ENDPOINT_CACHE_SECONDS)
    return info


def forget_endpoint(token_hash: str) -> None:
    """Drop the cached look-up (after any change to the endpoint's row)."""
    cache.delete(_cache_key(token_hash))
