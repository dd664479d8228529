"""The text free-text search reads from an alarm row besides its joined policy and instance."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# A bound on the column: dimensions of a noisy product can be long, and search needs no more.
MAX_SEARCH_TEXT = 4000


def _leaves(value: Any) -> Iterable[str]:
    """Every scalar inside a JSON value (objDetail nests the IPs operators paste)."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _leaves(item)
    elif value is not None and value != "":
        yield str(value)


def alarm_search_text(
    *,
    metric_display_name: str,
    event_display_name: str,
    namespace: str,
    region: str,
    dimensions: Mapping[str, Any],
) -> str:
    """Display names (Chinese ones included), namespace, region and every dimension value."""
    parts = [metric_display_name, event_display_name, namespace, region, *_leaves(dimensions)]
    seen: dict[str, None] = {}
    for part in parts:
        text = part.strip()
        if text:
            seen.setdefault(text, None)
    return " ".join(seen)[:MAX_SEARCH_TEXT]
