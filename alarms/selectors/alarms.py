"""Alarm reads: the list queryset, free-text search, staleness, counts."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Case, Count, Q, QuerySet, Value, When
from django.utils import timezone

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
    """Alarms whose policy name or id, instance id or name, metric or event name, or search
    text (display names, namespace, region, every dimension value such as an IP inside
    objDetail) contain ``text`` (case-insensitive) — the one free-text search of the API,
    console and admin.

    One OR across three joined tables defeats every index; a union of per-table look-ups lets
    PostgreSQL use the trigram indexes of migrations 0005 and 0008 and the foreign-key indexes.
    """
    policies = Policy.objects.filter(Q(name__icontains=text) | Q(policy_id__icontains=text))
    instances = Instance.objects.filter(Q(instance_id__icontains=text) | Q(name__icontains=text))
    unordered = Alarm.objects.order_by()  # compound statements allow no ORDER BY inside
    matching = (
        unordered.filter(Q(metric_name__icontains=text) | Q(event_name__icontains=text))
        .values("pk")
        .union(
            # Served by alarms_alarm_search_text_trgm (UPPER(search_text), as icontains reads).
            unordered.filter(search_text__icontains=text).values("pk"),
            unordered.filter(policy__in=policies.order_by().values("pk")).values("pk"),
            unordered.filter(instance__in=instances.order_by().values("pk")).values("pk"),
        )
    )
    return queryset.filter(pk__in=matching)


def stale_cutoff(now: datetime | None = None) -> datetime:
    """Firing alarms last pushed before this moment are stale (ALARMHUB_STALE_AFTER_SECONDS)."""
    now = timezone.now() if now is None else now
    return now - timedelta(seconds=settings.ALARMHUB_STALE_AFTER_SECONDS)


def stale_q(cutoff: datetime | None = None) -> Q:
    """Firing, and no push for longer than the setting allows: probably a lost recovery.

    Only a reading of the data: the lifecycle is unchanged, so a late recovery still lands.
    """
    return Q(status=AlarmStatus.FIRING, last_notified_at__lt=cutoff or stale_cutoff())


def with_stale(queryset: QuerySet[Alarm]) -> QuerySet[Alarm]:
    """Annotate ``is_stale`` for the console's marker (computed per row, not stored)."""
    return queryset.annotate(
        is_stale=Case(
            When(stale_q(), then=Value(True)), default=Value(False), output_field=BooleanField()
        )
    )


def firing_counts_by_namespace() -> list[dict[str, object]]:
    """Firing alarms per namespace, and how many of them are stale (in the same query, served
    by the partial index alarm_firing_ns_idx)."""
    return list(
        Alarm.objects.filter(status=AlarmStatus.FIRING)
        .values("namespace")
        .annotate(count=Count("id"), stale=Count("id", filter=stale_q()))
        .order_by("-count", "namespace")
    )
