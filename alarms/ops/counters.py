"""Counters for what leaves no row behind, kept in the default cache (issue 14, finding 15).

A callback refused by its endpoint's quota stores nothing on purpose, so ``/metrics`` cannot
count it from the database like everything else. These counters live in the cache instead:
shared by every process on Redis (``CACHE_URL``), per process on local memory. They reset when
the cache is flushed or restarted; Prometheus reads that as a counter reset, which ``rate()``
and ``increase()`` handle.
"""

from __future__ import annotations

import logging

from django.core.cache import cache

logger = logging.getLogger(__name__)

# Every reason a callback may be rejected without storing it; /metrics shows each, 0 included.
REJECTED_QUOTA = "quota"
REJECTED_REASONS = (REJECTED_QUOTA,)


def _key(reason: str) -> str:
    return f"alarmhub:counter:callbacks_rejected:{reason}"


def count_rejected_callback(reason: str) -> None:
    """Add one to ``alarmhub_callbacks_rejected_total{reason}`` (best effort: never raises)."""
    key = _key(reason)
    try:
        cache.add(key, 0, timeout=None)  # never expires: it is a counter
        cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.add(key, 1, timeout=None)
    except Exception:  # the cache backend's own errors: a metric must not fail a request
        logger.warning("could not count a rejected callback (%s)", reason, exc_info=True)


def rejected_callbacks() -> dict[str, int]:
    """The counts per reason (0 for a reason never seen, or when the cache is down)."""
    try:
        found = cache.get_many([_key(reason) for reason in REJECTED_REASONS])
    except Exception:
        logger.warning("could not read the rejected-callback counters", exc_info=True)
        found = {}
    return {reason: int(found.get(_key(reason)) or 0) for reason in REJECTED_REASONS}
