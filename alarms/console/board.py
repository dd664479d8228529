"""The board's rows: state ranks, keyset positions both ways, capped counts, row markers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ..choices import AlarmStatus
from ..display import instance_ips
from ..models import Alarm
from ..selectors.alarms import (
    BOARD_ORDER,
)
from ..selectors.paging import flip, rows_after

PAGE_SIZE = 100

# The result count is exact up to this many rows, then "1,000+": COUNT(*) over a LIMIT, never
# over the table.
COUNT_CAP = 1000


@dataclass(frozen=True)
class BoardPage:
    rows: list[Alarm]
    older_query: str
    newer_query: str
    first_position: int = 1  # "alarms 101–200": the position of rows[0] among the matches


# The largest id a 64-bit column holds: a bigger one overflows the SQLite adapter.
MAX_PK = 2**63 - 1


def board_ranks(params: QueryDict, now: datetime) -> list[Q]:
    """The board's sections, in order (issue 10): firing and unacknowledged, firing and
    acknowledged, recently recovered, the rest; newest first within each.

    Only when the filter names no status or acknowledgement (then it is the operator's order);
    the API keeps plain newest first (DESIGN §4). Each rank is its own query (alarm_status_idx,
    alarm_recent_idx), never an ORDER BY CASE that would sort every matching row.
    """
    if any(params.getlist(name) for name in ("status", "acknowledged")):
        return [Q()]
    recent = Q(status=AlarmStatus.RECOVERED, recovered_at__gte=recently_recovered_cutoff(now))
    firing = Q(status=AlarmStatus.FIRING)
    return [
        firing & Q(acknowledged_at__isnull=True),
        firing & Q(acknowledged_at__isnull=False),
        recent,
        ~firing & ~recent,
    ]


def recently_recovered_cutoff(now: datetime) -> datetime:
    return now - timedelta(seconds=settings.ALARMHUB_RECENTLY_RECOVERED_SECONDS)


def _position(params: QueryDict, key: str, ranks: int = 1) -> tuple[int, datetime, int] | None:
    """A keyset boundary (rank, time, id) from the query string; None when missing or unusable
    (issue 14, 9). A missing or unknown rank reads as the first.

    A date that leaves years 1-9999 once in UTC, or an id beyond 64 bits, would raise in the
    database adapter (a 500): those are ignored like any malformed position.
    """
    pk = params.get(f"{key}_id", "")
    if not (pk.isascii() and pk.isdigit()) or int(pk) > MAX_PK:
        return None
    rank_text = params.get(f"{key}_rank", "")
    rank = int(rank_text) if rank_text in {str(r) for r in range(ranks)} else 0
    try:
        when = parse_datetime(params.get(key, ""))  # ValueError: well formed, not a date
        if when is None or timezone.is_naive(when):
            return None
        return rank, when.astimezone(UTC), int(pk)  # OverflowError: outside years 1-9999 in UTC
    except (ValueError, OverflowError):
        return None


def _page_number(params: QueryDict) -> int:
    # Keyset pages have no offset: the links carry a page counter for the position shown.
    text = params.get("page", "")
    return int(text) if text.isdigit() and 0 < int(text) < 10**9 else 1


def _page_query(params: QueryDict, key: str, row: Alarm, page: int, ranked: bool) -> str:
    params = params.copy()
    for name in ("before", "before_id", "before_rank", "after", "after_id", "after_rank", "page"):
        params.pop(name, None)
    params[key] = row.first_occurred_at.isoformat()
    params[f"{key}_id"] = str(row.pk)
    if ranked:
        params[f"{key}_rank"] = str(getattr(row, "board_rank", 0))
    params["page"] = str(page)
    return params.urlencode()


def _read_ranks(
    queryset: QuerySet[Alarm],
    ranks: list[Q],
    order: list[str],
    start: tuple[int, datetime, int] | None,
    backwards: bool,
) -> list[Alarm]:
    """Up to PAGE_SIZE + 1 rows from ``start`` on, rank after rank (backwards: rank before rank)."""
    first = start[0] if start else 0
    found: list[Alarm] = []
    for rank in range(first, -1, -1) if backwards else range(first, len(ranks)):
        rows = queryset.filter(ranks[rank]).order_by(*order)
        if start and rank == first:
            rows = rows.filter(rows_after(order, start[1:]))
        for row in rows[: PAGE_SIZE + 1 - len(found)]:
            row.board_rank = rank  # type: ignore[attr-defined]  # for the cursor and the marker
            found.append(row)
        if len(found) > PAGE_SIZE:
            break
    return found


def board_page(
    queryset: QuerySet[Alarm], params: QueryDict, ranks: list[Q] | None = None
) -> BoardPage:
    """One page of keyset paging in both directions: no OFFSET, no COUNT(*).

    The order is (rank, BOARD_ORDER) and the cursor holds the boundary row's rank. ``before``
    pages go on; ``after`` pages read the flipped order from the boundary (an index scan
    backwards) and are turned round for display.
    """
    ranks = ranks or [Q()]
    ranked = len(ranks) > 1
    after = _position(params, "after", len(ranks))
    before = None if after else _position(params, "before", len(ranks))
    page = _page_number(params) if after or before else 1
    if after:
        flipped = [flip(term) for term in BOARD_ORDER]
        found = _read_ranks(queryset, ranks, flipped, after, backwards=True)
        has_newer, has_older = len(found) > PAGE_SIZE, True
        rows = list(reversed(found[:PAGE_SIZE]))
        if not has_newer:  # back at the newest, whatever the counter said
            page = 1
    else:
        found = _read_ranks(queryset, ranks, list(BOARD_ORDER), before, backwards=False)
        has_newer, has_older = before is not None, len(found) > PAGE_SIZE
        rows = found[:PAGE_SIZE]
    if not rows:  # paged past either end: only the way back to the newest makes sense
        return BoardPage(rows, "", "")
    return BoardPage(
        rows,
        _page_query(params, "before", rows[-1], page + 1, ranked) if has_older else "",
        _page_query(params, "after", rows[0], max(page - 1, 1), ranked) if has_newer else "",
        (page - 1) * PAGE_SIZE + 1,
    )


def decorate_rows(rows: list[Alarm], now: datetime) -> list[Alarm]:
    """What a row shows beyond its fields: the instance's addresses, "recently recovered"."""
    cutoff = recently_recovered_cutoff(now)
    for row in rows:
        row.ips = instance_ips(row)  # type: ignore[attr-defined]
        row.recently_recovered = bool(  # type: ignore[attr-defined]
            row.status == AlarmStatus.RECOVERED and row.recovered_at and row.recovered_at >= cutoff
        )
    return rows


def _capped_count(queryset: QuerySet[Alarm]) -> tuple[int, bool]:
    counted = queryset.order_by()[: COUNT_CAP + 1].count()
    return min(counted, COUNT_CAP), counted > COUNT_CAP


def _known_values(counts: list[dict[str, object]]) -> list[str]:
    return [str(row["namespace"]) for row in counts if row["namespace"]]
