"""Lenient readers for Tencent's JSON values: text, numbers, durations and local times.

Tencent sends the same field as a number or a string, with stray spaces, and times as local
wall-clock text with or without an offset (FORMAT.md §5); these turn each into one Python type.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any

TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})"  # local date and time
    r"(?:[.,](\d+))?"  # optional fractional seconds
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?",  # optional offset
    re.ASCII | re.IGNORECASE,
)


OFFSET = re.compile(r"([+-])(\d{2}):?(\d{2})?", re.ASCII)


NUMBER = re.compile(r"[+-]?\d+(?:\.\d*)?", re.ASCII)


# A duration or period beyond a century is corrupt data, not a measurement. FORMAT.md gives
# neither field a bound (durationTime: seconds since the first trigger; period: the statistic
# period in seconds, "60" in every sample).
MAX_SECONDS = int(timedelta(days=36525).total_seconds())
# ``Notification.period_seconds`` is a 32-bit integer (68 years): a bigger period is unknown.
MAX_PERIOD_SECONDS = 2**31 - 1


class Fields:
    """One JSON object of the payload that remembers which keys were used; the rest are extras."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.used: set[str] = set()

    def raw(self, key: str) -> Any:
        return self.data.get(key)

    def mark(self, key: str) -> None:
        self.used.add(key)

    def text(self, key: str) -> str:
        """The value as trimmed text, "" when absent; a non-scalar value is left for extras."""
        text = as_text(self.data.get(key))
        if text is None:
            return ""
        self.used.add(key)
        return text

    def leftovers(self) -> dict[str, Any]:
        return {key: value for key, value in self.data.items() if key not in self.used}


def as_text(value: Any) -> str | None:
    """Trimmed text of a JSON scalar ("" for null); None for booleans, arrays and objects."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return int_text(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        # 95.0 and 95 are the same threshold; do not show "95.0".
        return int_text(int(value)) if value.is_integer() else repr(value)
    return None


def int_text(value: int) -> str | None:
    try:
        return str(value)
    except ValueError:  # beyond Python's int-to-str digit limit
        return None


def as_seconds(value: Any, *, maximum: int = MAX_SECONDS) -> int | None:
    """Whole seconds from a number or numeric string; None for blanks, garbage, < 0 or above
    ``maximum`` (100 years unless given)."""
    number: int | float | Decimal
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = value
    elif isinstance(value, str) and NUMBER.fullmatch(value.strip()):
        number = Decimal(value.strip())
    else:
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return None
    if not 0 <= number <= maximum:
        return None
    return int(number)


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def describe(value: Any) -> str:
    """A short, safe description of a value for error messages (never a full repr)."""
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:40] + "…"
        return repr(shown)
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, bool) or value is None:
        return {True: "true", False: "false", None: "null"}[value]
    text = as_text(value)
    return text if text and len(text) <= 40 else "a number"


def parse_time(value: Any, default_tz: tzinfo) -> datetime | None:
    """A Tencent time string as an aware UTC datetime; None when it is not a valid time."""
    if not isinstance(value, str):
        return None
    match = TIME.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    try:
        # An explicit offset is the truth; otherwise Tencent sent the account's local time.
        zone = offset_zone(offset) if offset else default_tz
        local = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond
        )
        return local.replace(tzinfo=zone).astimezone(UTC)
    except (ValueError, OverflowError):  # 2021-02-30, 25:00, or out of datetime's range
        return None


def offset_zone(text: str) -> tzinfo:
    if text.upper() == "Z":
        return UTC
    match = OFFSET.fullmatch(text)
    if match is None:
        raise ValueError(f"bad offset {text!r}")
    sign, hours, minutes = match.groups()
    if int(minutes or 0) >= 60:
        raise ValueError(f"bad offset {text!r}")
    delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
    return timezone(-delta if sign == "-" else delta)  # raises ValueError beyond ±24 h
