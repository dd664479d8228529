"""Finding the endpoint a callback was sent to, cached per process."""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache

from ..models import CallbackEndpoint

# Endpoint look-ups are cached per process so a warm callback costs one INSERT and no SELECT
# (one SELECT per process every few seconds under any load). Deactivating an endpoint or
# rotating its token takes effect in every process within this TTL.
ENDPOINT_CACHE_SECONDS = 5
UNKNOWN_TOKEN_CACHE_SECONDS = 5


@dataclass(frozen=True)
class EndpointInfo:
    id: int
    name: str
    timezone: str
    basic_auth_username: str
    basic_auth_password_hash: str


def _cache_key(token_hash: str) -> str:
    return f"alarmhub:endpoint:{token_hash}"


def active_endpoint_for_token_hash(token_hash: str) -> EndpointInfo | None:
    """The active endpoint whose token hashes to ``token_hash``, or None."""
    key = _cache_key(token_hash)
    cached = cache.get(key)
    if cached is not None:
        return cached or None  # False marks a recently seen unknown token
    row = (
        CallbackEndpoint.objects.filter(token_hash=token_hash, is_active=True)
        .values("id", "name", "timezone", "basic_auth_username", "basic_auth_password_hash")
        .first()
    )
    if row is None:
        cache.set(key, False, UNKNOWN_TOKEN_CACHE_SECONDS)
        return None
    info = EndpointInfo(**row)
    cache.set(key, info, ENDPOINT_CACHE_SECONDS)
    return info


def forget_endpoint(token_hash: str) -> None:
    cache.delete(_cache_key(token_hash))


def _bearer_key(endpoint_id: int) -> str:
    return f"alarmhub:endpoint-bearer:{endpoint_id}"


def bearer_token_hash(endpoint_id: int) -> str:
    """The endpoint's bearer token SHA-256 ("" for none), cached as long as the endpoint is."""
    cached = cache.get(_bearer_key(endpoint_id))
    if cached is None:
        row = CallbackEndpoint.objects.filter(pk=endpoint_id).values_list("bearer_token_hash")
        cached = (row.first() or ("",))[0]
        cache.set(_bearer_key(endpoint_id), cached, ENDPOINT_CACHE_SECONDS)
    return str(cached)


def forget_bearer_token(endpoint_id: int) -> None:
    cache.delete(_bearer_key(endpoint_id))
