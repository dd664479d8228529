"""Which parser reads an endpoint's bodies: one entry per ``CallbackEndpoint.source``.

Adding a source means a new package under ``alarms/sources/`` with ``name`` and ``parse()``, and
an entry here; nothing in the pipeline or the lifecycle changes.
"""

from __future__ import annotations

from . import alertmanager, tencent
from .base import NotAnAlarm, Source

DEFAULT_SOURCE = tencent.name

SOURCES: dict[str, Source] = {
    # A module satisfies the protocol: mypy checks its `name` and `parse` against Source.
    tencent.name: tencent,
    alertmanager.name: alertmanager,
}


def get_source(name: str) -> Source:
    """The source registered as ``name``; an unknown one is a parse failure, not a crash."""
    try:
        return SOURCES[name]
    except KeyError:
        raise NotAnAlarm(f"no parser is registered for source {name!r}") from None


def source_choices() -> list[tuple[str, str]]:
    return [(key, key) for key in SOURCES]
