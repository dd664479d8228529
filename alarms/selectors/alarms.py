"""Alarm reads: the list queryset, free-text search, staleness, counts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    Func,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.utils import timezone

from ..choices import AlarmStatus
from ..models import Alarm, Instance, Policy
from ..services.search_text import SEARCH_TEXT_MARK

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

    One predicate on the alarm table, so that PostgreSQL can serve a rare term from the trigram
    index alarms_alarm_search_text_trgm and a common one by walking alarm_recent_idx until the
    page is full (a union of per-table look-ups materialised every match first). Rows in the
    full search-text format (services.search_text) carry the joined names themselves; older
    rows are found through the joined tables, restricted to those rows by the partial index
    alarm_search_legacy_idx, so their look-up costs nothing once none is left.
    """
    policies = Policy.objects.filter(Q(name__icontains=text) | Q(policy_id__icontains=text))
    instances = Instance.objects.filter(Q(instance_id__icontains=text) | Q(name__icontains=text))
    legacy = ~Q(search_text__startswith=SEARCH_TEXT_MARK)
    # The old union of per-table look-ups (trigram and foreign-key indexes), over old rows only.
    # Each look-up first asks whether any old row is left at all: an uncorrelated EXISTS is a
    # one-time filter (one probe of the then empty partial index), and the look-up does not
    # run when it is false. Without it the planner, which cannot tell that the partial index
    # is empty, may scan every policy first (3,000 at a million alarms: 1.4 ms a search).
    old_rows = Alarm.objects.order_by().filter(legacy)  # compound statements: no ORDER BY
    old_rows = old_rows.filter(Exists(Alarm.objects.filter(legacy)))
    legacy_matches = (
        old_rows.filter(Q(metric_name__icontains=text) | Q(event_name__icontains=text))
        .values("pk")
        .union(
            old_rows.filter(policy__in=policies.order_by().values("pk")).values("pk"),
            old_rows.filter(instance__in=instances.order_by().values("pk")).values("pk"),
        )
    )
    return queryset.filter(
        # Served by alarms_alarm_search_text_trgm (UPPER(search_text), as icontains reads).
        Q(search_text__icontains=text) | (legacy & Q(InSubquery(F("pk"), Subquery(legacy_matches))))
    )


class InSubquery(Func):
    """``expression IN (subquery)``; on PostgreSQL ``expression = ANY(ARRAY(subquery))``.

    The ARRAY form is an InitPlan: the executor runs it only when a row reaches this arm (never,
    when no row is in the old format), and a bitmap index scan can take its result, so an OR
    around it still lets the planner combine index scans. ``IN (subquery)`` inside an OR is a
    per-row (hashed) subplan that no index scan can use.
    """

    arg_joiner = " IN "
    template = "%(expressions)s"
    output_field = BooleanField()
    conditional = True

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(
            compiler,
            connection,
            arg_joiner=" = ANY(ARRAY",
            template="%(expressions)s)",
            **extra,
        )


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
    """Firing alarms per namespace, and how many of them are stale, in one index-only scan of
    alarm_firing_seen_idx (the rows are firing already, so "stale" needs only the push time)."""
    return list(
        Alarm.objects.filter(status=AlarmStatus.FIRING)
        .values("namespace")
        .annotate(
            count=Count("id"), stale=Count("id", filter=Q(last_notified_at__lt=stale_cutoff()))
        )
        .order_by("-count", "namespace")
    )
