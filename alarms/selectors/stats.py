"""Alarm statistics (DESIGN §6 "Statistics"): a pure read over an already-filtered queryset.

Everything is computed by aggregate queries whose number does not depend on the row count: on
PostgreSQL one statement that reads the window once (``stats_postgres``, issue 16) — after one
that adds up the hourly roll-ups when the filters allow, which past ``ALARMHUB_STATS_EXACT_UP_TO``
alarms leaves only the lists and percentiles to a sample (``stats_rollup``) — elsewhere a
handful of ORM queries; Python only shapes their (bounded) results. The API view and the
statistics page call ``alarm_stats`` with the alarm list's FilterSet applied, so "the same
filters as the board" holds.

Definitions:

- MTTA: mean of ``first_acknowledged_at - first_occurred_at`` over the alarms acknowledged at least
  once (``first_acknowledged_at`` survives an unacknowledge).
- MTTR: mean of ``recovered_at - first_occurred_at`` over the alarms with a recovery time; firing
  and superseded alarms have none and are left out.
- Flapping identity: a fingerprint with at least one alarm flagged ``flapping`` by the lifecycle
  (``ALARMHUB_FLAPPING_EPISODES`` within ``ALARMHUB_FLAPPING_WINDOW_SECONDS``), or with at least
  ``REPEAT_THRESHOLD`` alarms among the matching ones: it kept coming back within the window.
- ``over_time``: UTC buckets, hourly for windows up to two days and daily beyond. ``triggered``
  counts matching alarms by ``first_occurred_at``, ``recovered`` the same alarms by
  ``recovered_at`` (recoveries after ``before`` fall outside every bucket).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connections
from django.db.models import (
    Aggregate,
    Avg,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDay, TruncHour

from ..choices import AlarmStatus
from ..models import Alarm
from .stats_orm import PercentileCont, _offset_percentile, _seconds
from .stats_postgres import LISTS, window_aggregates
from .stats_rollup import (
    RollupFilter,
    exact_up_to,
    rollup_filter,
    sampled,
    scale_lists,
    window_sums,
)

TOP_ROWS = 20
# Fingerprints with at least this many matching alarms count as flapping (see module docstring).
REPEAT_THRESHOLD = 2
HOURLY_UP_TO = timedelta(days=2)
# Beyond this many buckets the empty ones are no longer filled in (a custom ten-year window
# would otherwise mean thousands of zero rows); non-empty buckets are always all returned.
MAX_FILLED_BUCKETS = 1000
PERCENTILES = {"median": 0.5, "p90": 0.9}
SAMPLED_LISTS = ("by_policy", "noisiest_instances", "flapping")

TTA = ExpressionWrapper(F("first_acknowledged_at") - F("first_occurred_at"), DurationField())
TTR = ExpressionWrapper(F("recovered_at") - F("first_occurred_at"), DurationField())
ACKED = Q(first_acknowledged_at__isnull=False)
RECOVERED = Q(recovered_at__isnull=False)


@dataclass(frozen=True)
class Window:
    after: datetime
    before: datetime


@dataclass
class AlarmStats:
    window: Window
    alarms: int
    firing: int
    acknowledged: int
    mtta_seconds: float | None
    mttr_seconds: float | None
    # {"median": x|None, "p90": x|None} for each of MTTA and MTTR.
    mtta_percentiles: dict[str, float | None]
    mttr_percentiles: dict[str, float | None]
    bucket: str  # "hour" or "day"
    by_namespace: list[dict[str, Any]] = field(default_factory=list)
    by_policy: list[dict[str, Any]] = field(default_factory=list)
    noisiest_instances: list[dict[str, Any]] = field(default_factory=list)
    flapping: list[dict[str, Any]] = field(default_factory=list)
    over_time: list[dict[str, Any]] = field(default_factory=list)
    # Set when the lists and percentiles are estimated from a sample: {"alarms": n, "of": N}.
    sample: dict[str, int] | None = None


def _means() -> dict[str, Aggregate]:
    return {
        "mtta": Avg(TTA, filter=ACKED, output_field=DurationField()),
        "mttr": Avg(TTR, filter=RECOVERED, output_field=DurationField()),
    }


def _is_postgres(queryset: QuerySet[Alarm]) -> bool:
    return connections[queryset.db].vendor == "postgresql"


def _totals(queryset: QuerySet[Alarm]) -> dict[str, Any]:
    aggregates: dict[str, Aggregate] = {
        "alarms": Count("id"),
        "firing": Count("id", filter=Q(status=AlarmStatus.FIRING)),
        "acknowledged": Count("id", filter=Q(acknowledged_at__isnull=False)),
        "acked_once": Count("id", filter=ACKED),
        "with_recovery": Count("id", filter=RECOVERED),
        "first_at": Min("first_occurred_at"),
        "last_at": Max("first_occurred_at"),
        "last_recovered_at": Max("recovered_at"),
        **_means(),
    }
    postgres = _is_postgres(queryset)
    if postgres:
        for name, fraction in PERCENTILES.items():
            aggregates[f"tta_{name}"] = PercentileCont(
                TTA, fraction, filter=ACKED, output_field=DurationField()
            )
            aggregates[f"ttr_{name}"] = PercentileCont(
                TTR, fraction, filter=RECOVERED, output_field=DurationField()
            )
    row = queryset.order_by().aggregate(**aggregates)
    row["mtta_percentiles"] = {}
    row["mttr_percentiles"] = {}
    for name, fraction in PERCENTILES.items():
        if postgres:
            row["mtta_percentiles"][name] = _seconds(row.pop(f"tta_{name}"))
            row["mttr_percentiles"][name] = _seconds(row.pop(f"ttr_{name}"))
        else:
            row["mtta_percentiles"][name] = _offset_percentile(
                queryset, TTA, ACKED, row["acked_once"], fraction
            )
            row["mttr_percentiles"][name] = _offset_percentile(
                queryset, TTR, RECOVERED, row["with_recovery"], fraction
            )
    return row


def _by_namespace(queryset: QuerySet[Alarm]) -> list[dict[str, Any]]:
    rows = (
        queryset.order_by()
        .values("namespace")
        .annotate(
            alarms=Count("id"), firing=Count("id", filter=Q(status=AlarmStatus.FIRING)), **_means()
        )
        .order_by("-alarms", "namespace")[:TOP_ROWS]
    )
    return [
        {
            "namespace": r["namespace"],
            "alarms": r["alarms"],
            "firing": r["firing"],
            "mtta_seconds": _seconds(r["mtta"]),
            "mttr_seconds": _seconds(r["mttr"]),
        }
        for r in rows
    ]


def _by_policy(queryset: QuerySet[Alarm]) -> list[dict[str, Any]]:
    # Grouped by the policy row (a policy id is per endpoint); alarms without one are one row
    # with an empty id, so the breakdown still adds up to the total.
    rows = (
        queryset.order_by()
        .values("policy", "policy__policy_id", "policy__name")
        .annotate(
            alarms=Count("id"), firing=Count("id", filter=Q(status=AlarmStatus.FIRING)), **_means()
        )
        .order_by("-alarms", "policy__policy_id", "policy")[:TOP_ROWS]
    )
    return [
        {
            "policy_id": r["policy__policy_id"] or "",
            "policy_name": r["policy__name"] or "",
            "alarms": r["alarms"],
            "firing": r["firing"],
            "mtta_seconds": _seconds(r["mtta"]),
            "mttr_seconds": _seconds(r["mttr"]),
        }
        for r in rows
    ]


def _noisiest_instances(queryset: QuerySet[Alarm]) -> list[dict[str, Any]]:
    rows = (
        queryset.order_by()
        .filter(instance__isnull=False)
        .values("instance", "instance__instance_id", "instance__name")
        .annotate(alarms=Count("id"), notifications=Sum("notification_count"))
        .order_by("-alarms", "-notifications", "instance__instance_id", "instance")[:TOP_ROWS]
    )
    return [
        {
            "instance_id": r["instance__instance_id"],
            "instance_name": r["instance__name"],
            "alarms": r["alarms"],
            "notifications": r["notifications"] or 0,
        }
        for r in rows
    ]


def _flapping(queryset: QuerySet[Alarm]) -> list[dict[str, Any]]:
    # One identity has one policy, instance and namespace: Max() just picks them for display
    # without another query; Max("id") is its newest alarm, for a link.
    rows = (
        queryset.order_by()
        .values("fingerprint")
        .annotate(
            alarms=Count("id"),
            flapping_alarms=Count("id", filter=Q(flapping=True)),
            latest_alarm_id=Max("id"),
            any_namespace=Max("namespace"),
            any_policy_id=Max("policy__policy_id"),
            any_policy_name=Max("policy__name"),
            any_instance_id=Max("instance__instance_id"),
            any_instance_name=Max("instance__name"),
        )
        .filter(Q(alarms__gte=REPEAT_THRESHOLD) | Q(flapping_alarms__gt=0))
        .order_by("-alarms", "fingerprint")[:TOP_ROWS]
    )
    return [
        {
            "fingerprint": r["fingerprint"],
            "alarms": r["alarms"],
            "flapping_alarms": r["flapping_alarms"],
            "latest_alarm_id": r["latest_alarm_id"],
            "namespace": r["any_namespace"] or "",
            "policy_id": r["any_policy_id"] or "",
            "policy_name": r["any_policy_name"] or "",
            "instance_id": r["any_instance_id"] or "",
            "instance_name": r["any_instance_name"] or "",
        }
        for r in rows
    ]


def _floor(moment: datetime, hourly: bool) -> datetime:
    moment = moment.astimezone(UTC)
    if hourly:
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def _over_time(
    queryset: QuerySet[Alarm], window: Window, totals: dict[str, Any]
) -> tuple[str, list[dict[str, Any]]]:
    hourly = window.before - window.after <= HOURLY_UP_TO
    trunc = TruncHour if hourly else TruncDay
    base = queryset.order_by()
    triggered = {
        r["bucket"]: r["n"]
        for r in base.annotate(bucket=trunc("first_occurred_at", tzinfo=UTC))
        .values("bucket")
        .annotate(n=Count("id"))
    }
    recovered = {
        r["bucket"]: r["n"]
        for r in base.filter(recovered_at__isnull=False, recovered_at__lte=window.before)
        .annotate(bucket=trunc("recovered_at", tzinfo=UTC))
        .values("bucket")
        .annotate(n=Count("id"))
    }

    return _fill_buckets(window, hourly, totals, triggered, recovered)


def _fill_buckets(
    window: Window,
    hourly: bool,
    totals: dict[str, Any],
    triggered: dict[datetime, int],
    recovered: dict[datetime, int],
) -> tuple[str, list[dict[str, Any]]]:
    step = timedelta(hours=1) if hourly else timedelta(days=1)
    start, end = _floor(window.after, hourly), window.before
    if start <= end and (end - start) / step > MAX_FILLED_BUCKETS and totals["first_at"]:
        # A very wide custom window: fill in only the span that holds data.
        last = max(t for t in (totals["last_at"], totals["last_recovered_at"]) if t)
        start, end = max(start, _floor(totals["first_at"], hourly)), min(end, last)
    keys: set[datetime] = set()
    if start <= end and (end - start) / step <= MAX_FILLED_BUCKETS:
        moment = start
        while moment <= end:
            keys.add(moment)
            moment += step
    floor_after = _floor(window.after, hourly)
    keys |= {k for k in (*triggered, *recovered) if k is not None and floor_after <= k <= end}
    return ("hour" if hourly else "day"), [
        {"start": k, "triggered": triggered.get(k, 0), "recovered": recovered.get(k, 0)}
        for k in sorted(keys)
    ]


def alarm_stats(
    queryset: QuerySet[Alarm], *, window: Window, filters: dict[str, Any] | None = None
) -> AlarmStats:
    """Statistics of ``queryset`` (already filtered, window included) for ``window``.

    ``filters``: the FilterSet's cleaned data, which tells whether the roll-ups can answer
    (``stats_rollup``). On PostgreSQL two queries when they can (the roll-ups' sums, then the
    exact statement or a sample's), else one (``stats_postgres``); on other databases seven,
    and four more read the medians and p90s (skipped when there is nothing to measure).
    """
    if _is_postgres(queryset):
        chosen = rollup_filter(filters)
        if chosen is not None:
            open_ended = not (filters or {}).get("first_occurred_before")
            estimated = _rollup_stats(queryset, window, chosen, open_ended=open_ended)
            if estimated is not None:
                return estimated
        return _postgres_stats(queryset, window)
    return _orm_stats(queryset, window)


def _orm_stats(queryset: QuerySet[Alarm], window: Window) -> AlarmStats:
    """The ORM's seven aggregates: what any database runs, and what PostgreSQL's one
    statement must equal (an integration test compares the two)."""
    totals = _totals(queryset)
    bucket, over_time = _over_time(queryset, window, totals)
    return AlarmStats(
        window=window,
        alarms=totals["alarms"],
        firing=totals["firing"],
        acknowledged=totals["acknowledged"],
        mtta_seconds=_seconds(totals["mtta"]),
        mttr_seconds=_seconds(totals["mttr"]),
        mtta_percentiles=totals["mtta_percentiles"],
        mttr_percentiles=totals["mttr_percentiles"],
        bucket=bucket,
        by_namespace=_by_namespace(queryset),
        by_policy=_by_policy(queryset),
        noisiest_instances=_noisiest_instances(queryset),
        flapping=_flapping(queryset),
        over_time=over_time,
    )


def _one_statement(
    queryset: QuerySet[Alarm], window: Window, hourly: bool, lists: Collection[str] = LISTS
) -> dict[str, Any]:
    return window_aggregates(
        queryset,
        before=window.before,
        hourly=hourly,
        top=TOP_ROWS,
        repeats=REPEAT_THRESHOLD,
        fractions=PERCENTILES,
        lists=lists,
    )


def _postgres_stats(queryset: QuerySet[Alarm], window: Window) -> AlarmStats:
    """``alarm_stats`` from the one statement of ``stats_postgres`` (the same numbers)."""
    hourly = window.before - window.after <= HOURLY_UP_TO
    parts = _one_statement(queryset, window, hourly)
    totals = parts.pop("totals")
    bucket, over_time = _fill_buckets(
        window, hourly, totals, parts.pop("triggered"), parts.pop("recovered")
    )
    for key in ("first_at", "last_at", "last_recovered_at"):
        del totals[key]
    return AlarmStats(window=window, bucket=bucket, over_time=over_time, **totals, **parts)


def _rollup_stats(
    queryset: QuerySet[Alarm], window: Window, chosen: RollupFilter, *, open_ended: bool
) -> AlarmStats | None:
    """Exact sums from the roll-ups and lists from a sample, for a window with more alarms than
    ``exact_up_to()``; None for any other (the caller reads it exactly)."""
    hourly = window.before - window.after <= HOURLY_UP_TO
    sums = window_sums(
        chosen,
        after=window.after,
        before=window.before,
        open_ended=open_ended,
        hourly=hourly,
        top=TOP_ROWS,
        using=queryset.db,
    )
    if sums is None or sums["totals"]["alarms"] <= exact_up_to():
        return None
    totals = sums.pop("totals")
    # The sample answers what the roll-ups cannot: the totals' percentiles and three lists.
    parts = _one_statement(sampled(queryset, totals["alarms"]), window, hourly, SAMPLED_LISTS)
    sample = parts.pop("totals")
    scale_lists(parts, totals["alarms"] / sample["alarms"] if sample["alarms"] else 0.0)
    bucket, over_time = _fill_buckets(window, hourly, totals, sums["triggered"], sums["recovered"])
    for key in ("first_at", "last_at", "last_recovered_at"):
        del totals[key]
    return AlarmStats(
        window=window,
        **totals,
        mtta_percentiles=sample["mtta_percentiles"],
        mttr_percentiles=sample["mttr_percentiles"],
        bucket=bucket,
        by_namespace=sums["by_namespace"],
        by_policy=parts["by_policy"],
        noisiest_instances=parts["noisiest_instances"],
        flapping=parts["flapping"],
        over_time=over_time,
        sample={"alarms": sample["alarms"], "of": totals["alarms"]},
    )
