"""Alarm reads: the list queryset, free-text search, counts."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from ..choices import AlarmStatus
from ..models import Alarm, Instance, Policy

# Newest first everywhere (DESIGN §4), served by the index alarm_recent_idx.
BOARD_ORDER = ("-first_occurred_at", "-id")


def alarm_list_queryset() -> QuerySet[Alarm]:
    """Alarms with everything a list row shows, in one query (no N+1)."""
    return Alarm.objects.select_related(
        "policy", "instance", "acknowledged_by", "endpoint"
    ).order_by(*BOARD_ORDER)


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
