"""The text free-text search reads from an alarm row (selectors.alarms.search_alarms).

Two formats live side by side. The full one (``names`` given) starts with ``SEARCH_TEXT_MARK``
and holds everything search matches, the policy's and instance's names included, so one
predicate on the alarm table answers any term. The short one (no ``names``: rows written before
it existed) lacks the joined names and metric/event names; search finds those rows through the
joined tables as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# A bound on the column: dimensions of a noisy product can be long, and search needs no more.
MAX_SEARCH_TEXT = 4000
# Starts, and separates the parts of, the full format. A search box cannot type it, so a term
# never matches across two parts (as it could not when every part was its own column).
SEARCH_TEXT_MARK = "\x1f"


@dataclass(frozen=True)
class SearchNames:
    """What search matches besides the snapshot: metric/event names, policy and instance."""

    metric_name: str = ""
    event_name: str = ""
    policy_name: str = ""
    policy_id: str = ""
    instance_id: str = ""
    instance_name: str = ""


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
    names: SearchNames | None = None,
) -> str:
    """Display names (Chinese ones included), namespace, region and every dimension value;
    with ``names``, the full format (see the module docstring), names first so that the cut at
    ``MAX_SEARCH_TEXT`` only ever shortens the dimensions."""
    parts = [metric_display_name, event_display_name, namespace, region, *_leaves(dimensions)]
    if names is not None:
        parts[:0] = [
            names.metric_name,
            names.event_name,
            names.policy_name,
            names.policy_id,
            names.instance_id,
            names.instance_name,
        ]
    seen: dict[str, None] = {}
    for part in parts:
        # The mark never occurs inside a part: only the format puts it there.
        text = part.replace(SEARCH_TEXT_MARK, " ").strip()
        if text:
            seen.setdefault(text, None)
    if names is None:
        return " ".join(seen)[:MAX_SEARCH_TEXT]
    return (SEARCH_TEXT_MARK + SEARCH_TEXT_MARK.join(seen))[:MAX_SEARCH_TEXT]
