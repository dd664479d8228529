"""A board filter as a query string every reader understands alike.

The console accepts comma-separated values and times in the operator's zone; the API reads
neither. A filter's *cleaned* values, written back as repeated parameters with UTC times
carrying their offset, mean the same thing to the board, the statistics page, the export and a
saved view shared with someone in another zone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

Pairs = list[tuple[str, str]]


def filter_pairs(cleaned: Mapping[str, Any], *, skip: Iterable[str] = ()) -> Pairs:
    """``cleaned_data`` of a ConsoleAlarmFilterSet form as ``(name, value)`` pairs."""
    skipped = set(skip)
    pairs: Pairs = []
    for name, value in cleaned.items():
        if name in skipped or value is None or value == "" or value == []:
            continue
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, datetime):
                item = item.astimezone(UTC).isoformat()
            pairs.append((name, str(item)))
    return pairs


def with_values(pairs: Pairs, **replace: str | list[str]) -> str:
    """``pairs`` encoded, each named parameter's values replaced by the given one(s)."""
    kept = [(name, value) for name, value in pairs if name not in replace]
    for name, values in replace.items():
        kept.extend((name, value) for value in ([values] if isinstance(values, str) else values))
    return urlencode(kept)


def cleaned_filter_query(filterset: Any) -> str:
    """The canonical query of a bound, valid filterset; "" when it is invalid or empty."""
    if not filterset.is_valid():
        return ""
    return urlencode(filter_pairs(filterset.form.cleaned_data))
