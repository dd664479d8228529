"""Per-endpoint storage quota of the callback (issue 14, finding 15).

Any holder of a token could otherwise store ``ALARMHUB_MAX_BODY_BYTES`` per request without
limit. Past ``CallbackEndpoint.max_deliveries_per_minute`` (or the default
``ALARMHUB_MAX_DELIVERIES_PER_MINUTE``; unset on both: unlimited) the callback answers 429 with
``retCode`` 1, so Tencent retries later, and stores nothing. Counted per endpoint in fixed
one-minute windows of the default cache: shared by every process on Redis, per process on
local memory (then the cap applies per process).
"""

from __future__ import annotations

import time

from rest_framework.response import Response

from alarmhub.security import hit

from ..ops.counters import REJECTED_QUOTA, count_rejected_callback
from ..selectors.endpoints import EndpointInfo

WINDOW_SECONDS = 60
SCOPE = "callback-quota"


def over_quota(endpoint: EndpointInfo) -> bool:
    """Count one callback to store for the endpoint; True when that is past its quota."""
    limit = endpoint.quota_per_minute  # cached with the endpoint: no query, no extra cache read
    if limit is None:
        return False
    # hit() answers 0 when the cache is down: storing then beats refusing every alarm.
    return hit("default", SCOPE, str(endpoint.id), window_seconds=WINDOW_SECONDS) > limit


def quota_exceeded() -> Response:
    """429 with retCode 1: Tencent retries, and nothing was stored."""
    count_rejected_callback(REJECTED_QUOTA)
    next_window = int(WINDOW_SECONDS - time.time() % WINDOW_SECONDS) + 1
    return Response(
        {"retCode": 1, "error": "this callback URL's storage quota is used up; retry later"},
        status=429,
        headers={"Retry-After": str(next_window)},
    )
