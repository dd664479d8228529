"""Rebuilding the statistics' hourly roll-ups from the alarms (PostgreSQL; ``models.stats``).

The alarm table's triggers mark every hour a write touched (migration 0016);
``rebuild_marked_hours`` recomputes the marked hours that are over and deletes the marks it
has seen. It runs in one REPEATABLE READ transaction, so the marks it reads and the alarms it
sums are one snapshot: a write that commits meanwhile leaves its mark in place, for the next
run. One run at a time (a session advisory lock, taken before the transaction); a beat task
runs it (``tasks.rebuild_stats_rollups``), and ``manage.py rebuild_stats`` until nothing is left.
"""

from __future__ import annotations

from datetime import datetime

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from ..selectors.stats_rollup import HOUR_SUMS

# The rebuild's session advisory lock: "stats" in ASCII.
LOCK_KEY = 0x7374617473
# Hours per run: at a million alarms over 90 days, ~460 alarms an hour, so about a second.
HOURS_PER_RUN = 240


HOUR_ALARMS = (
    "FROM unnest(%(hours)s::timestamptz[]) h (hour) JOIN alarms_alarm a "
    "ON a.first_occurred_at >= h.hour AND a.first_occurred_at < h.hour + interval '1 hour'"
)
BUILD_HOURS = (
    "INSERT INTO alarms_statshour (hour, namespace, status, alarms, acknowledged, acked_once, "
    f"tta, recovered, ttr, first_at, last_at) SELECT h.hour, a.namespace, a.status, {HOUR_SUMS} "
    f"{HOUR_ALARMS} GROUP BY h.hour, a.namespace, a.status"
)
BUILD_RECOVERIES = (
    "INSERT INTO alarms_statsrecovery (daily, hour, namespace, status, recovered_hour, alarms, "
    "first_recovered_at, last_recovered_at) "
    "SELECT g.daily, h.hour, a.namespace, a.status, "
    "date_trunc(CASE WHEN g.daily THEN 'day' ELSE 'hour' END, a.recovered_at, 'UTC'), COUNT(*), "
    f"MIN(a.recovered_at), MAX(a.recovered_at) {HOUR_ALARMS} "
    "CROSS JOIN (VALUES (false), (true)) g (daily) WHERE a.recovered_at IS NOT NULL "
    "GROUP BY 1, 2, 3, 4, 5"
)
# The hour in progress keeps its marks until it is over: the statistics read it from the
# alarms anyway, and rebuilding it would be undone by the next write.
MARKED_HOURS = (
    "SELECT DISTINCT hour FROM alarms_statsdirtyhour "
    "WHERE hour < date_trunc('hour', now(), 'UTC') ORDER BY hour LIMIT %s"
)


def rebuild_marked_hours(
    *, hours_per_run: int = HOURS_PER_RUN, wait: bool = False, using: str = DEFAULT_DB_ALIAS
) -> int:
    """Rebuild up to ``hours_per_run`` marked hours; how many it rebuilt (0 elsewhere than
    PostgreSQL, when nothing is marked, or when another run holds the lock and not ``wait``)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return 0
    if connection.in_atomic_block:
        raise RuntimeError("rebuild_marked_hours needs its own transaction (REPEATABLE READ)")
    # A session lock, taken before the transaction: its snapshot must be younger than the
    # previous run's commit (one taken inside would be older than the lock, by its first query).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_{'' if wait else 'try_'}advisory_lock(%s)", [LOCK_KEY])
        if not wait and not cursor.fetchone()[0]:
            return 0
    try:
        return _rebuild(connection, hours_per_run)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _rebuild(connection: BaseDatabaseWrapper, hours_per_run: int) -> int:
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        cursor.execute(MARKED_HOURS, [hours_per_run])
        hours: list[datetime] = [row[0] for row in cursor.fetchall()]
        if not hours:
            return 0
        for table in ("alarms_statshour", "alarms_statsrecovery"):
            cursor.execute(f"DELETE FROM {table} WHERE hour = ANY(%s)", [hours])  # noqa: S608
        cursor.execute(BUILD_HOURS, {"hours": hours})
        cursor.execute(BUILD_RECOVERIES, {"hours": hours})
        # Only the marks this snapshot sees: a later write's mark stays (see the docstring).
        cursor.execute("DELETE FROM alarms_statsdirtyhour WHERE hour = ANY(%s)", [hours])
    return len(hours)


def rebuild_all(*, using: str = DEFAULT_DB_ALIAS) -> int:
    """Rebuild every marked hour that is over (after a bulk load or an upgrade), waiting for a
    run of beat's task that holds the lock instead of stopping there."""
    total = 0
    while built := rebuild_marked_hours(wait=True, using=using):
        total += built
    return total
