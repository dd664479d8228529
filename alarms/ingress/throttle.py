"""Per-IP throttling of the callback's failures (SECURITY.md, issue 14 finding 7).

Only failures count: unknown tokens (404) and wrong Basic-auth credentials (401). A request
with a valid token and valid credentials is never refused because others from its address
failed, so a flood of random tokens cannot silence Tencent. Counters live in the default
cache, shared by every process when ``CACHE_URL`` points at Redis.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.response import Response

from alarmhub.security import client_ip, hit, window_key

WINDOW_SECONDS = 60
UNKNOWN_TOKEN = "callback-unknown-token"  # noqa: S105 (a counter's name, not a secret)
BAD_CREDENTIALS = "callback-bad-credentials"

# Verified Basic-auth headers live in their own cache: only successful checks write there, so
# no flood of failures can push them out (a shared cache alias would evict them).
VERIFIED_CREDENTIALS_CACHE = "callback_auth"


def _limit(scope: str) -> int:
    if scope == UNKNOWN_TOKEN:
        return int(settings.ALARMHUB_CALLBACK_UNKNOWN_TOKENS_PER_MINUTE)
    return int(settings.ALARMHUB_CALLBACK_BAD_CREDENTIALS_PER_MINUTE)


def _subject(request: Request, endpoint_id: int | None) -> str:
    # Bad credentials count per address *and endpoint*: one misconfigured endpoint (a stale
    # password Tencent keeps retrying) must not lock out the others sharing Tencent's addresses.
    address = client_ip(request) or "-"
    return address if endpoint_id is None else f"{address}|{endpoint_id}"


def count_failure(request: Request, scope: str, *, endpoint_id: int | None = None) -> bool:
    """Record one failure from the client's address; True when it is now over its limit."""
    subject = _subject(request, endpoint_id)
    return hit("default", scope, subject, window_seconds=WINDOW_SECONDS) > _limit(scope)


def over_limit(request: Request, scope: str, *, endpoint_id: int | None = None) -> bool:
    """Whether the client's address has used up its failures for this window (counts nothing)."""
    try:
        count = int(
            cache.get(window_key(scope, _subject(request, endpoint_id), WINDOW_SECONDS)) or 0
        )
    except Exception:  # the cache is down: do not throttle
        return False
    return count >= _limit(scope)


def throttled() -> Response:
    """429 with retCode ≠ 0 (Tencent retries), quietly: a flood must not become a log flood."""
    response = Response(
        {"retCode": 1, "error": "too many failed callback requests from this address; retry later"},
        status=429,
        headers={"Retry-After": str(WINDOW_SECONDS)},
    )
    # Django's request logger skips responses it considers logged (django.utils.log).
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
