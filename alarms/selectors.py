"""Reads shared by the callback view, admin, dashboard and API."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.db.models import Count, Q, QuerySet

from .choices import AlarmStatus
from .models import Alarm, CallbackEndpoint, Instance, Policy

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

    @property
    def tzinfo(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


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


def alarm_list_queryset() -> QuerySet[Alarm]:
    """Alarms with everything a list row shows, in one query (no N+1)."""
    return Alarm.objects.select_related(
        "policy", "instance", "acknowledged_by", "endpoint"
    ).order_by("-first_occurred_at", "-id")


def search_alarms(queryset: QuerySet[Alarm], text: str) -> QuerySet[Alarm]:
    """Alarms whose policy name or id, instance id or name, metric or event name contain
    ``text`` (case-insensitive) — the one free-text search of the API, dashboard and admin.

    One OR across three joined tables defeats every index; a union of per-table look-ups lets
    PostgreSQL use the trigram indexes of migration 0005 and the foreign-key indexes.
    """
    policies = Policy.objects.filter(Q(name__icontains=text) | Q(policy_id__icontains=text))
    instances = Instance.objects.filter(Q(instance_id__icontains=text) | Q(name__icontains=text))
    unordered = Alarm.objects.order_by()  # compound statements allow no ORDER BY inside
    matching = (
        unordered.filter(Q(metric_name__icontains=text) | Q(event_name__icontains=text))
        .values("pk")
        .union(
            unordered.filter(policy__in=policies.order_by().values("pk")).values("pk"),
            unordered.filter(instance__in=instances.order_by().values("pk")).values("pk"),
        )
    )
    return queryset.filter(pk__in=matching)


def firing_counts_by_namespace() -> list[dict[str, object]]:
    """Firing alarms per namespace (served by the partial index alarm_firing_ns_idx)."""
    return list(
        Alarm.objects.filter(status=AlarmStatus.FIRING)
        .values("namespace")
        .annotate(count=Count("id"))
        .order_by("-count", "namespace")
    )
