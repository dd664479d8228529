"""The statistics of a long window from the hourly roll-ups and a sample (PostgreSQL; issue 16).

Read exactly, a window's statistics cost what its alarms are: at a million alarms a 7-day window
holds 78k of them and takes a quarter of a second, 90 days 3.6 s. When the filters are only the
ones the roll-ups are keyed by (the window, namespace, status), one statement instead adds up:

- the roll-up rows (``models.StatsHour``, ``StatsRecovery``) of the hours wholly inside the
  window that no write has touched since they were built, and
- the same sums, computed from the alarms, for the rest: the window's partial first and last
  hours and the marked hours (``StatsDirtyHour``, set by the alarm table's triggers),

which gives the counts, MTTA, MTTR, the namespaces and ``over_time`` exactly, whatever the
window. When the window holds no more than ``EXACT_UP_TO`` alarms, the caller then computes
everything exactly (``stats_postgres``); above that, the lists and the percentiles come from a
uniform sample of about ``SAMPLE`` of the window's alarms (``models.stats.SAMPLE_BUCKET``, read
by its own index), their counts scaled to the window, and the answer says so (``sample``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import QuerySet

from ..choices import AlarmStatus
from ..models import Alarm, StatsDirtyHour
from ..models.stats import SAMPLE_BUCKET, SAMPLE_BUCKETS
from .stats_postgres import _moment

# The filters the roll-ups can answer (keys of the FilterSet's cleaned data).
ROLLUP_FILTERS = frozenset({"first_occurred_after", "first_occurred_before", "namespace", "status"})
EXACT_UP_TO = 10_000
SAMPLE = 2_000
# A list row needs this many sampled alarms to be shown (see scale_lists).
MIN_SAMPLED = 3
HOUR = timedelta(hours=1)
MICROSECOND = timedelta(microseconds=1)

COUNTED = "alarms, acknowledged, acked_once, tta, recovered, ttr, first_at, last_at"


# The sums of a roll-up row over alarms ``a``: the rebuild stores them (services.stats_rollup),
# the statistics compute them for the hours read from the alarms.
HOUR_SUMS = (
    "COUNT(*) AS alarms, COUNT(a.acknowledged_at) AS acknowledged, "
    "COUNT(a.first_acknowledged_at) AS acked_once, "
    "COALESCE(SUM(a.first_acknowledged_at - a.first_occurred_at), '0') AS tta, "
    "COUNT(a.recovered_at) AS recovered, "
    "COALESCE(SUM(a.recovered_at - a.first_occurred_at), '0') AS ttr, "
    "MIN(a.first_occurred_at) AS first_at, MAX(a.first_occurred_at) AS last_at"
)


def _mean(total: str, count: str) -> str:
    """Seconds: the summed interval divided by the count, the exact statement's very operation
    (interval sums are exact, so adding up hours first changes nothing); NULL for none."""
    return f"EXTRACT(EPOCH FROM SUM({total}) / NULLIF(SUM({count}), 0))"


@dataclass(frozen=True)
class RollupFilter:
    namespaces: tuple[str, ...]
    statuses: tuple[str, ...]


def rollup_filter(filters: dict[str, Any] | None) -> RollupFilter | None:
    """The namespaces and statuses asked for, when no other filter is in use; else None."""
    if filters is None:
        return None
    used = {name for name, value in filters.items() if value not in (None, "", [], ())}
    if used - ROLLUP_FILTERS:
        return None
    return RollupFilter(
        namespaces=tuple(sorted(set(filters.get("namespace") or ()))),
        statuses=tuple(sorted(set(filters.get("status") or ()))),
    )


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def _statement(chosen: RollupFilter) -> str:
    conditions = ""
    if chosen.namespaces:
        conditions += " AND {t}namespace = ANY(%(namespaces)s)"
    if chosen.statuses:
        conditions += " AND {t}status = ANY(%(statuses)s)"
    stored, live = conditions.format(t=""), conditions.format(t="a.")
    clean = (
        "hour >= %(lo)s AND hour < %(hi)s AND NOT EXISTS "
        "(SELECT 1 FROM dirty WHERE dirty.hour = s.hour)"
    )
    hour_of = "date_trunc('hour', a.first_occurred_at, 'UTC')"
    bucket = "DATE_TRUNC(%(unit)s, {} AT TIME ZONE 'UTC')"
    return (
        # Marked hours, and the alarms read from the table: the edges and the marked hours.
        "WITH dirty AS (SELECT DISTINCT hour FROM alarms_statsdirtyhour "  # noqa: S608
        "WHERE hour >= %(lo)s AND hour < %(hi)s), "
        "ends (e) AS (SELECT COALESCE(%(end)s::timestamptz, 'infinity')), "
        "ranges (s, e) AS (SELECT %(after)s::timestamptz, LEAST(%(lo)s::timestamptz, e) FROM ends "
        "UNION ALL SELECT GREATEST(%(hi)s::timestamptz, %(after)s), e FROM ends "
        "UNION ALL SELECT hour, hour + interval '1 hour' FROM dirty), "
        "live AS MATERIALIZED (SELECT a.first_occurred_at, a.namespace, a.status, "
        "a.acknowledged_at, a.first_acknowledged_at, a.recovered_at FROM ranges r "
        "JOIN alarms_alarm a ON a.first_occurred_at >= r.s AND a.first_occurred_at < r.e "
        f"WHERE r.s < r.e{live}), "
        f"hours AS (SELECT hour, namespace, status, {COUNTED} FROM alarms_statshour s "
        f"WHERE {clean}{stored} UNION ALL SELECT {hour_of}, a.namespace, a.status, "
        f"{HOUR_SUMS} FROM live a GROUP BY 1, 2, 3), "
        # Stored recoveries count when all of them, none of them or (ambiguous) some are after
        # ``before``; the live ones are counted up to ``before``.
        "recoveries AS (SELECT recovered_hour, CASE WHEN last_recovered_at <= %(before)s "
        "THEN alarms ELSE 0 END AS counted, last_recovered_at, "
        "(first_recovered_at <= %(before)s AND last_recovered_at > %(before)s) AS ambiguous "
        f"FROM alarms_statsrecovery s WHERE daily = %(daily)s AND {clean}{stored} UNION ALL "
        "SELECT date_trunc('hour', a.recovered_at, 'UTC'), "
        "COUNT(*) FILTER (WHERE a.recovered_at <= %(before)s), MAX(a.recovered_at), false "
        "FROM live a WHERE a.recovered_at IS NOT NULL GROUP BY 1), "
        "namespaces AS (SELECT namespace, SUM(alarms) AS alarms, SUM(alarms) FILTER "
        "(WHERE status = %(firing)s) AS firing, "
        f"{_mean('tta', 'acked_once')} AS mtta_seconds, "
        f"{_mean('ttr', 'recovered')} AS mttr_seconds FROM hours GROUP BY namespace) "
        "SELECT JSON_BUILD_OBJECT("
        "'totals', (SELECT JSON_BUILD_OBJECT('alarms', COALESCE(SUM(alarms), 0), "
        "'firing', COALESCE(SUM(alarms) FILTER (WHERE status = %(firing)s), 0), "
        "'acknowledged', COALESCE(SUM(acknowledged), 0), "
        f"'mtta_seconds', {_mean('tta', 'acked_once')}, "
        f"'mttr_seconds', {_mean('ttr', 'recovered')}, "
        "'first_at', MIN(first_at), 'last_at', MAX(last_at)) FROM hours), "
        "'last_recovered_at', (SELECT MAX(last_recovered_at) FROM recoveries), "
        "'ambiguous', (SELECT COALESCE(BOOL_OR(ambiguous), false) FROM recoveries), "
        "'by_namespace', (SELECT COALESCE(JSON_AGG(n ORDER BY alarms DESC, namespace), '[]') "
        "FROM (SELECT * FROM namespaces ORDER BY alarms DESC, namespace LIMIT %(top)s) n), "
        f"'triggered', (SELECT COALESCE(JSON_AGG(t), '[]') FROM (SELECT {bucket.format('hour')} "
        "AS start, SUM(alarms) AS n FROM hours GROUP BY 1) t), "
        "'recovered', (SELECT COALESCE(JSON_AGG(t), '[]') FROM (SELECT "
        f"{bucket.format('recovered_hour')} AS start, SUM(counted) AS n FROM recoveries "
        "GROUP BY 1 HAVING SUM(counted) > 0) t))::text"
    )


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def window_sums(
    chosen: RollupFilter,
    *,
    after: datetime,
    before: datetime,
    open_ended: bool,
    hourly: bool,
    top: int,
    using: str,
) -> dict[str, Any] | None:
    """The exact counts, means, namespaces and buckets of the window; None when a custom end
    splits an hour's recoveries or the window touches the calendar's end (the caller then
    reads the window exactly).

    ``open_ended``: no ``first_occurred_before`` was given, so alarms dated after ``before``
    (a sender's clock ahead of ours) count, as the alarm list's filter has no end either.
    """
    try:
        lo, hi = _ceil_hour(after), _floor_hour(before)
        end = None if open_ended else before + MICROSECOND  # first_occurred_at <= before
    except OverflowError:  # a window at the calendar's end (year 9999): read exactly
        return None
    params = {
        "after": after,
        "before": before,
        "end": end,
        "lo": lo,
        "hi": max(lo, hi),
        "namespaces": list(chosen.namespaces),
        "statuses": list(chosen.statuses),
        "unit": "hour" if hourly else "day",
        "daily": not hourly,
        "top": top,
        "firing": AlarmStatus.FIRING.value,
    }
    with connections[using].cursor() as cursor:
        cursor.execute(_statement(chosen), params)
        (text,) = cursor.fetchone()
    parts: dict[str, Any] = json.loads(text)
    if parts.pop("ambiguous"):
        return None
    totals = parts["totals"]
    totals["alarms"], totals["firing"] = int(totals["alarms"]), int(totals["firing"])
    totals["acknowledged"] = int(totals["acknowledged"])
    for key in ("mtta_seconds", "mttr_seconds"):
        totals[key] = _seconds(totals[key])
    for key in ("first_at", "last_at"):
        totals[key] = _moment(totals[key])
    totals["last_recovered_at"] = _moment(parts.pop("last_recovered_at"))
    parts["by_namespace"] = [
        {
            "namespace": row["namespace"],
            "alarms": int(row["alarms"]),
            "firing": int(row["firing"] or 0),
            "mtta_seconds": _seconds(row["mtta_seconds"]),
            "mttr_seconds": _seconds(row["mttr_seconds"]),
        }
        for row in parts["by_namespace"]
    ]
    for key in ("triggered", "recovered"):
        parts[key] = {_moment(row["start"]): int(row["n"]) for row in parts[key]}
    return parts


def hours_awaiting_rollup(now: datetime) -> int:
    """Marked hours before the current one (the current hour is always read from the alarms)."""
    before = _floor_hour(now)
    return StatsDirtyHour.objects.filter(hour__lt=before).values("hour").distinct().count()


def exact_up_to() -> int:
    return int(getattr(settings, "ALARMHUB_STATS_EXACT_UP_TO", EXACT_UP_TO))


def sample_size() -> int:
    return int(getattr(settings, "ALARMHUB_STATS_SAMPLE", SAMPLE))


def sampled(queryset: QuerySet[Alarm], alarms: int) -> QuerySet[Alarm]:
    """About ``sample_size()`` of the ``alarms`` alarms of ``queryset``, uniformly: the first
    buckets, each an index range of the window (``= ANY``: one descent per bucket)."""
    buckets = min(SAMPLE_BUCKETS, math.ceil(SAMPLE_BUCKETS * sample_size() / max(alarms, 1)))
    return queryset.alias(_sample_bucket=SAMPLE_BUCKET).filter(
        _sample_bucket__in=list(range(buckets))
    )


def scale_lists(parts: dict[str, Any], factor: float) -> None:
    """The sample's list counts as estimates for the window (in place).

    A row the sample saw fewer than ``MIN_SAMPLED`` times is dropped (its estimate would be off
    by more than half, and in an even spread such rows are the ones chance picked), unless the
    sample is the whole window (``factor`` 1).
    """
    counted = {
        "by_policy": ("alarms", "firing"),
        "noisiest_instances": ("alarms", "notifications"),
        "flapping": ("alarms", "flapping_alarms"),
    }
    for key, names in counted.items():
        if factor > 1:
            parts[key] = [row for row in parts[key] if row["alarms"] >= MIN_SAMPLED]
        for row in parts[key]:
            for name in names:
                row[name] = round((row[name] or 0) * factor)
