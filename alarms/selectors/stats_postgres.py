"""The statistics on PostgreSQL in one statement: the window's alarms are read once.

``selectors.stats`` computes the same numbers with the ORM in seven grouped queries; at a
million alarms each of them read the window from the table again (a bitmap or sequential scan
of wide rows) and the per-policy and per-instance ones joined every alarm of the window to those
tables before grouping (issue 16). Here a ``MATERIALIZED`` CTE keeps the few columns the
statistics read, and every aggregate reads that: the breakdowns group by the alarm's own
columns and join the policy and instance tables for their top rows only. Orders, ties, NULLs
and roundings are those of the ORM queries; the tests run both.

The CTE reads the window by an index-only scan of ``alarm_stats_window_idx`` (first_occurred_at,
with the other ``COLUMNS`` included: migration 0014), not from the table's wide rows; the
statement gets the memory to keep its window and groups out of temporary files (``ROOM``).

The parts come back as one JSON object (bounded: at most ``top`` rows per list and one row per
bucket); durations as seconds (``EXTRACT(EPOCH ...)``, exact like the ORM's intervals).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from ..choices import AlarmStatus
from ..models import Alarm, Instance, Policy

# The only columns the statistics read.
COLUMNS = (
    "id",
    "namespace",
    "status",
    "policy_id",
    "instance_id",
    "fingerprint",
    "flapping",
    "notification_count",
    "first_occurred_at",
    "recovered_at",
    "acknowledged_at",
    "first_acknowledged_at",
)
ACKED = "first_acknowledged_at IS NOT NULL"
RECOVERED = "recovered_at IS NOT NULL"
TTA = "first_acknowledged_at - first_occurred_at"
TTR = "recovered_at - first_occurred_at"
FIRING = "status = %(firing)s"
INSTANCE_ORDER = "alarms DESC, notifications DESC, instance_id, pk"
# The statement's parts besides the totals (a caller may ask for fewer).
LISTS = ("by_namespace", "by_policy", "noisiest_instances", "flapping", "triggered", "recovered")
# Sort keys the lists carry for JSON_AGG's order, not shown.
HELPERS = ("code", "pk")
# Memory for this statement only: the window's rows (the CTE), and the instances' and
# identities' groups, spilled to temporary files at the default 4MB (a 7-day window at a
# million alarms: 78k rows, ~13MB). Each sort or hash node may take this much, for as much data
# as the window has. The setting ends with the transaction: the statement's own (autocommit),
# or the caller's atomic block.
ROOM = "SET LOCAL work_mem = '32MB'"


def _epoch(expression: str) -> str:
    return f"EXTRACT(EPOCH FROM {expression})"


def _mean(duration: str, end: str) -> str:
    """``AVG(duration)`` over the alarms with an ``end`` as PostgreSQL computes ``avg(interval)``:
    the sum (``interval_pl``) divided by the count (``interval_div``), so the same value to the
    microsecond. But up to PostgreSQL 16 ``avg(interval)`` keeps an ``interval[]`` as its state,
    built and taken apart for every row, where ``sum(interval)`` keeps an interval; and counting
    ``end`` (first_occurred_at is NOT NULL) spares a subtraction. No row: NULL, as ``AVG``."""
    where = f"FILTER (WHERE {end} IS NOT NULL)"
    return _epoch(f"SUM({duration}) {where} / COUNT({end}) {where}")


MTTA = _mean(TTA, "first_acknowledged_at")
MTTR = _mean(TTR, "recovered_at")
COUNTS = f"COUNT(*) AS alarms, COUNT(*) FILTER (WHERE {FIRING}) AS firing"
MEANS = f"{MTTA} AS mtta_seconds, {MTTR} AS mttr_seconds"


def _percentiles(expression: str, condition: str, fractions: dict[str, float]) -> str:
    """Every fraction from one sort: ``PERCENTILE_CONT`` of an array (interpolates as one each)."""
    array = ", ".join(str(float(f)) for f in fractions.values())
    return (
        f"PERCENTILE_CONT(ARRAY[{array}]::float8[]) WITHIN GROUP (ORDER BY {expression}) "
        f"FILTER (WHERE {condition})"
    )


def _by_name(column: str, fractions: dict[str, float]) -> str:
    parts = [f"'{name}', {_epoch(f'{column}[{n}]')}" for n, name in enumerate(fractions, 1)]
    return f"JSON_BUILD_OBJECT({', '.join(parts)})"


def _list(select: str, order: str) -> str:
    """A JSON array of ``select``'s rows in ``order`` (``[]`` when there are none)."""
    return f"(SELECT COALESCE(JSON_AGG(t ORDER BY {order}), '[]') FROM ({select}) t)"  # noqa: S608


def _statement(
    window_sql: str,
    fractions: dict[str, float],
    q: Callable[[str], str],
    lists: Collection[str] = LISTS,
) -> str:
    policy, instance = q(Policy._meta.db_table), q(Instance._meta.db_table)
    totals = (
        "SELECT JSON_BUILD_OBJECT('alarms', a.alarms, 'firing', a.firing, "  # noqa: S608
        "'acknowledged', a.acknowledged, 'first_at', a.first_at, 'last_at', a.last_at, "
        "'last_recovered_at', a.last_recovered_at, 'mtta_seconds', a.mtta_seconds, "
        f"'mttr_seconds', a.mttr_seconds, 'mtta_percentiles', {_by_name('a.tta', fractions)}, "
        f"'mttr_percentiles', {_by_name('a.ttr', fractions)}) FROM ("
        f"SELECT {COUNTS}, COUNT(*) FILTER (WHERE acknowledged_at IS NOT NULL) AS acknowledged, "
        "MIN(first_occurred_at) AS first_at, MAX(first_occurred_at) AS last_at, "
        f"MAX(recovered_at) AS last_recovered_at, {MEANS}, "
        f"{_percentiles(TTA, ACKED, fractions)} AS tta, "
        f"{_percentiles(TTR, RECOVERED, fractions)} AS ttr FROM w) a"
    )
    namespaces = (
        f"SELECT namespace, {COUNTS}, {MEANS} FROM w GROUP BY namespace "  # noqa: S608
        "ORDER BY alarms DESC, namespace LIMIT %(top)s"
    )
    # Ranked by the alarms' own columns; ties at the last place are all kept, as the final
    # order breaks them by the joined policy id (RANK, not ROW_NUMBER). PostgreSQL sorts NULL
    # last: the alarms without a policy, and the policy id of a deleted policy.
    policies = (
        "SELECT COALESCE(p.policy_id, '') AS policy_id, COALESCE(p.name, '') AS policy_name, "  # noqa: S608
        "g.alarms, g.firing, g.mtta_seconds, g.mttr_seconds, p.policy_id AS code, g.pk FROM ("
        f"SELECT policy_id AS pk, {COUNTS}, {MEANS}, RANK() OVER (ORDER BY COUNT(*) DESC) AS place "
        f"FROM w GROUP BY policy_id) g LEFT JOIN {policy} p ON p.id = g.pk "
        "WHERE g.place <= %(top)s ORDER BY g.alarms DESC, p.policy_id, g.pk LIMIT %(top)s"
    )
    instances = (
        "SELECT i.instance_id, i.name AS instance_name, g.alarms, g.notifications, g.pk FROM ("  # noqa: S608
        "SELECT instance_id AS pk, COUNT(*) AS alarms, SUM(notification_count) AS notifications, "
        "RANK() OVER (ORDER BY COUNT(*) DESC, SUM(notification_count) DESC) AS place "
        "FROM w WHERE instance_id IS NOT NULL GROUP BY instance_id) g "
        f"JOIN {instance} i ON i.id = g.pk WHERE g.place <= %(top)s "
        "ORDER BY g.alarms DESC, g.notifications DESC, i.instance_id, g.pk LIMIT %(top)s"
    )
    # The top identities from the alarms' own columns; only their alarms meet the policy and
    # instance tables, for the names MAX() picks (one identity has one of each).
    flapping = (
        "SELECT top.*, MAX(w.id) AS latest_alarm_id, COALESCE(MAX(w.namespace), '') AS namespace, "  # noqa: S608
        "COALESCE(MAX(p.policy_id), '') AS policy_id, COALESCE(MAX(p.name), '') AS policy_name, "
        "COALESCE(MAX(i.instance_id), '') AS instance_id, "
        "COALESCE(MAX(i.name), '') AS instance_name FROM ("
        "SELECT fingerprint, COUNT(*) AS alarms, COUNT(*) FILTER (WHERE flapping) AS "
        "flapping_alarms FROM w GROUP BY fingerprint "
        "HAVING COUNT(*) >= %(repeats)s OR COUNT(*) FILTER (WHERE flapping) > 0 "
        "ORDER BY alarms DESC, fingerprint LIMIT %(top)s) top "
        f"JOIN w ON w.fingerprint = top.fingerprint LEFT JOIN {policy} p ON p.id = w.policy_id "
        f"LEFT JOIN {instance} i ON i.id = w.instance_id "
        "GROUP BY top.fingerprint, top.alarms, top.flapping_alarms"
    )
    # As Django's Trunc*(tzinfo=UTC): a UTC timestamp without zone.
    bucket = "DATE_TRUNC(%(unit)s, {} AT TIME ZONE 'UTC')"
    triggered = (
        f"SELECT {bucket.format('first_occurred_at')} AS start, COUNT(*) AS n FROM w GROUP BY 1"  # noqa: S608
    )
    recovered = (
        f"SELECT {bucket.format('recovered_at')} AS start, COUNT(*) AS n FROM w "  # noqa: S608
        f"WHERE {RECOVERED} AND recovered_at <= %(before)s GROUP BY 1"
    )
    built = {
        "by_namespace": _list(namespaces, "alarms DESC, namespace"),
        "by_policy": _list(policies, "alarms DESC, code, pk"),
        "noisiest_instances": _list(instances, INSTANCE_ORDER),
        "flapping": _list(flapping, "alarms DESC, fingerprint"),
        "triggered": _list(triggered, "start"),
        "recovered": _list(recovered, "start"),
    }
    chosen = "".join(f", '{key}', {built[key]}" for key in LISTS if key in lists)
    return (
        f"WITH w AS MATERIALIZED ({window_sql}) "
        f"SELECT JSON_BUILD_OBJECT('totals', ({totals}){chosen})::text"
    )


def _moment(value: str | None) -> datetime | None:
    """A JSON timestamp: timestamptz with its offset, or a UTC bucket without one."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _shown(value: Any, key: str) -> Any:
    """Durations in seconds to the millisecond, as ``stats_orm._seconds`` rounds the ORM's."""
    if key.endswith("_seconds") or key in ("median", "p90"):
        return None if value is None else round(float(value), 3)
    return value


def window_aggregates(
    queryset: QuerySet[Alarm],
    *,
    before: datetime,
    hourly: bool,
    top: int,
    repeats: int,
    fractions: dict[str, float],
    lists: Collection[str] = LISTS,
) -> dict[str, Any]:
    """Every statistic of ``queryset`` in one query, keyed and shaped as ``AlarmStats``'s.

    ``totals`` also has ``first_at``, ``last_at`` and ``last_recovered_at``; ``triggered``
    and ``recovered`` map each non-empty bucket's start to its count. ``lists``: the parts
    besides the totals to compute (all of ``LISTS`` by default).
    """
    window_sql, window_params = queryset.order_by().values(*COLUMNS).query.sql_with_params()
    # The window's own placeholders are positional: name them so the rest can use names.
    names = {f"w{n}": value for n, value in enumerate(window_params)}
    window_sql = window_sql.replace("%%", "%%%%") % tuple(f"%({n})s" for n in names)
    params = {
        **names,
        "firing": AlarmStatus.FIRING.value,
        "top": top,
        "repeats": repeats,
        "unit": "hour" if hourly else "day",
        "before": before,
    }
    connection = connections[queryset.db]
    statement = _statement(window_sql, fractions, connection.ops.quote_name, lists)
    # Client-side binding (Django's default) sends both in one round trip and one transaction,
    # which SET LOCAL's value ends with; a server-side bound statement cannot carry two.
    roomy = not connection.settings_dict.get("OPTIONS", {}).get("server_side_binding")
    with connection.cursor() as cursor:
        cursor.execute(f"{ROOM}; {statement}" if roomy else statement, params)
        if roomy:
            cursor.nextset()  # past SET's empty result
        (text,) = cursor.fetchone()
    parts: dict[str, Any] = json.loads(text)
    totals = parts["totals"]
    for key in ("first_at", "last_at", "last_recovered_at"):
        totals[key] = _moment(totals[key])
    for key in ("mtta_seconds", "mttr_seconds"):
        totals[key] = _shown(totals[key], key)
    for key in ("mtta_percentiles", "mttr_percentiles"):
        totals[key] = {name: _shown(v, name) for name, v in totals[key].items()}
    for key in ("by_namespace", "by_policy", "noisiest_instances", "flapping"):
        if key not in parts:
            continue
        parts[key] = [
            {k: _shown(v, k) for k, v in row.items() if k not in HELPERS} for row in parts[key]
        ]
    for key in ("triggered", "recovered"):
        if key in parts:
            parts[key] = {_moment(row["start"]): row["n"] for row in parts[key]}
    return parts
