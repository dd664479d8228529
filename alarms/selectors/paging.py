"""Keyset ("seek") paging: rows strictly after a boundary row in a total order.

No OFFSET and no COUNT(*): one indexed query per page at any depth, and rows inserted meanwhile
never shift a page. Used by the API cursor and the console's "older"/"newer" links.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q


def flip(field: str) -> str:
    """The opposite direction of an ``order_by`` term."""
    return field[1:] if field.startswith("-") else f"-{field}"


def rows_after(order: Sequence[str], position: Sequence[Any]) -> Q:
    """Rows strictly after ``position`` in ``order``: (a > x) OR (a = x AND b > y) OR ...

    ``order`` holds ``order_by`` terms ("-first_occurred_at", "-id"); the last must be unique.
    """
    condition = Q()
    for i, field in enumerate(order):
        name = field.lstrip("-")
        step = Q(**{f"{name}__{'lt' if field.startswith('-') else 'gt'}": position[i]})
        for earlier, value in zip(order[:i], position[:i], strict=True):
            step &= Q(**{earlier.lstrip("-"): value})
        condition |= step
    return condition
