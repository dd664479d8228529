"""Pieces of the ORM's statistics (``stats._orm_stats``): durations as seconds and the
percentiles on databases with or without ``percentile_cont``."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.db.models import Aggregate, Q, QuerySet

from ..models import Alarm


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(f) WITHIN GROUP (ORDER BY expr)`` (works on intervals)."""

    function = "percentile_cont"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"

    def __init__(self, expression: Any, fraction: float, **extra: Any) -> None:
        super().__init__(expression, fraction=float(fraction), **extra)


def _seconds(value: timedelta | float | None) -> float | None:
    """An aggregated duration as seconds (SQLite may hand back microseconds as a number)."""
    if value is None:
        return None
    if isinstance(value, timedelta):
        return round(value.total_seconds(), 3)
    return round(float(value) / 1_000_000, 3)


def _offset_percentile(
    queryset: QuerySet[Alarm], expression: Any, condition: Q, count: int, fraction: float
) -> float | None:
    """``percentile_cont`` for databases without it: one query reading two sorted values.

    The database sorts; at most two values cross the wire whatever the row count.
    """
    if count == 0:
        return None
    position = fraction * (count - 1)
    low = math.floor(position)
    values = [
        _seconds(v)
        for v in queryset.filter(condition)
        .annotate(_d=expression)
        .order_by("_d")
        .values_list("_d", flat=True)[low : low + 2]
    ]
    if not values or values[0] is None:
        return None
    high = values[1] if len(values) > 1 and values[1] is not None else values[0]
    return round(values[0] + (high - values[0]) * (position - low), 3)
