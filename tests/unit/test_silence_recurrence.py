"""When is a silence in force? One-off windows and weekly recurring windows in a time zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from alarms.models import Silence
from alarms.services.silences import in_force, validate_recurrence

SHANGHAI = ZoneInfo("Asia/Shanghai")  # UTC+8 all year: no daylight saving time
# A long outer window: the recurrence alone decides inside it.
WIDE = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))


def silence(
    recurrence: dict[str, Any] | None = None, *, window: tuple[datetime, datetime] = WIDE
) -> Silence:
    return Silence(starts_at=window[0], ends_at=window[1], recurrence=recurrence)


def weekly(weekdays: list[int], start: str, end: str, zone: str = "Asia/Shanghai") -> Silence:
    return silence({"weekdays": weekdays, "start_time": start, "end_time": end, "timezone": zone})


def local(day_of: tuple[int, int, int], hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A wall-clock time in Shanghai."""
    return datetime(*day_of, hour, minute, second, tzinfo=SHANGHAI)


# 2024-03-04 is a Monday.


def test_one_off_window_is_in_force_between_its_bounds_inclusive() -> None:
    start = datetime(2024, 3, 4, 10, tzinfo=UTC)
    end = start + timedelta(hours=2)
    s = silence(window=(start, end))
    assert in_force(s, start)
    assert in_force(s, end)
    assert in_force(s, start + timedelta(hours=1))
    assert not in_force(s, start - timedelta(seconds=1))
    assert not in_force(s, end + timedelta(seconds=1))


def test_daily_window_counts_on_listed_weekdays_only() -> None:
    s = weekly([0, 2], "09:00", "17:00")  # Monday and Wednesday
    assert in_force(s, local((2024, 3, 4), 12))  # Monday
    assert not in_force(s, local((2024, 3, 5), 12))  # Tuesday
    assert in_force(s, local((2024, 3, 6), 12))  # Wednesday


def test_daily_window_includes_its_start_and_excludes_its_end() -> None:
    s = weekly([0], "09:00", "17:00")
    assert in_force(s, local((2024, 3, 4), 9, 0))
    assert not in_force(s, local((2024, 3, 4), 8, 59, 59))
    assert in_force(s, local((2024, 3, 4), 16, 59, 59))
    assert not in_force(s, local((2024, 3, 4), 17, 0))


def test_window_past_midnight_belongs_to_the_weekday_it_started() -> None:
    s = weekly([4], "22:00", "06:00")  # Friday night
    assert in_force(s, local((2024, 3, 8), 23))  # Friday 23:00
    assert in_force(s, local((2024, 3, 9), 5, 59))  # Saturday morning: still Friday's window
    assert not in_force(s, local((2024, 3, 9), 6, 0))
    assert not in_force(s, local((2024, 3, 9), 23))  # Saturday night: not listed
    assert not in_force(s, local((2024, 3, 8), 5))  # Friday morning: Thursday's window, unlisted


def test_window_past_midnight_wraps_from_sunday_into_monday() -> None:
    s = weekly([6], "20:00", "02:00")  # Sunday night
    assert in_force(s, local((2024, 3, 11), 1))  # Monday 01:00
    assert not in_force(s, local((2024, 3, 4), 21))  # Monday 21:00


def test_equal_start_and_end_mean_a_whole_day_from_that_time() -> None:
    s = weekly([5, 6], "00:00", "00:00")  # the weekend
    assert in_force(s, local((2024, 3, 9), 0, 0))
    assert in_force(s, local((2024, 3, 10), 23, 59))
    assert not in_force(s, local((2024, 3, 11), 0, 0))
    assert not in_force(s, local((2024, 3, 8), 23, 59))


def test_times_are_read_in_the_silence_time_zone() -> None:
    s = weekly([0], "09:00", "10:00", "Asia/Shanghai")
    # 01:30 UTC is 09:30 in Shanghai (UTC+8, no DST).
    assert in_force(s, datetime(2024, 3, 4, 1, 30, tzinfo=UTC))
    assert not in_force(s, datetime(2024, 3, 4, 9, 30, tzinfo=UTC))


def test_weekday_is_the_local_one_not_the_utc_one() -> None:
    s = weekly([0], "06:00", "07:00", "Asia/Shanghai")  # Monday 06:00 Shanghai
    # Sunday 22:30 UTC is already Monday 06:30 in Shanghai.
    assert in_force(s, datetime(2024, 3, 3, 22, 30, tzinfo=UTC))


def test_daylight_saving_time_keeps_the_wall_clock_window() -> None:
    s = weekly([0], "09:00", "10:00", "Europe/Berlin")
    # 09:30 Berlin is 08:30 UTC in winter (CET) and 07:30 UTC in summer (CEST).
    assert in_force(s, datetime(2024, 3, 4, 8, 30, tzinfo=UTC))
    assert in_force(s, datetime(2024, 7, 1, 7, 30, tzinfo=UTC))
    assert not in_force(s, datetime(2024, 7, 1, 8, 30, tzinfo=UTC))


def test_recurrence_never_extends_past_the_outer_window() -> None:
    start = datetime(2024, 3, 4, 0, tzinfo=UTC)
    s = silence(
        {"weekdays": [0, 1], "start_time": "22:00", "end_time": "06:00", "timezone": "UTC"},
        window=(start, start + timedelta(days=1)),
    )
    assert in_force(s, datetime(2024, 3, 4, 23, tzinfo=UTC))
    assert not in_force(s, datetime(2024, 3, 5, 23, tzinfo=UTC))  # outer window is over


def test_valid_recurrence_is_normalised() -> None:
    cleaned = validate_recurrence(
        {"weekdays": [3, 1, 3], "start_time": "22:00", "end_time": "06:00", "timezone": "UTC"}
    )
    assert cleaned == {
        "weekdays": [1, 3],
        "start_time": "22:00",
        "end_time": "06:00",
        "timezone": "UTC",
    }
    assert validate_recurrence(None) is None


GOOD = {"weekdays": [0], "start_time": "01:00", "end_time": "02:00", "timezone": "UTC"}


@pytest.mark.parametrize(
    "recurrence",
    [
        [],
        "weekly",
        {**GOOD, "weekdays": []},
        {**GOOD, "weekdays": [7]},
        {**GOOD, "weekdays": [-1]},
        {**GOOD, "weekdays": [True]},
        {**GOOD, "weekdays": "0"},
        {**GOOD, "start_time": "24:00"},
        {**GOOD, "end_time": "1:00"},
        {**GOOD, "end_time": "01:60"},
        {**GOOD, "start_time": 100},
        {**GOOD, "timezone": "Mars/Olympus"},
        {**GOOD, "timezone": ""},
        {**GOOD, "timezone": "../etc/passwd"},
        {**GOOD, "extra": 1},
        {k: v for k, v in GOOD.items() if k != "timezone"},
    ],
)
def test_invalid_recurrence_is_refused_naming_the_field(recurrence: object) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_recurrence(recurrence)
    assert list(caught.value.message_dict) == ["recurrence"]
