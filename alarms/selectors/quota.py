"""An endpoint's storage quota (callbacks per minute), cached like the endpoint look-up."""

from __future__ import annotations

from typing import cast

from django.conf import settings
from django.core.cache import cache

from ..models import CallbackEndpoint
from .endpoints import ENDPOINT_CACHE_SECONDS


def _limit_key(endpoint_id: int) -> str:
    return f"alarmhub:endpoint-quota:{endpoint_id}"


def endpoint_limit(endpoint_id: int) -> int | None:
    """Callbacks per minute the endpoint may store (None: unlimited).

    The endpoint's own ``max_deliveries_per_minute``, else ALARMHUB_MAX_DELIVERIES_PER_MINUTE.
    One SELECT per endpoint and process every ENDPOINT_CACHE_SECONDS.
    """
    key = _limit_key(endpoint_id)
    cached = cache.get(key)
    if cached is not None:
        return cast("int | None", cached["limit"])
    own = (
        CallbackEndpoint.objects.filter(pk=endpoint_id)
        .values_list("max_deliveries_per_minute", flat=True)
        .first()
    )
    limit = (
        own if own is not None else getattr(settings, "ALARMHUB_MAX_DELIVERIES_PER_MINUTE", None)
    )
    # A dict, so that "unlimited" (None) is cached too and tells itself from a miss.
    cache.set(key, {"limit": limit}, ENDPOINT_CACHE_SECONDS)
    return limit


def forget_limit(endpoint_id: int) -> None:
    cache.delete(_limit_key(endpoint_id))
