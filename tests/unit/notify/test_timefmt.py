"""Times, durations and the message language: pure, deterministic."""

from __future__ import annotations

import pytest

from alarms.notify.timefmt import format_duration, format_time, normalise_language
from tests.unit.notify.factories import FIRST


@pytest.mark.parametrize(
    ("tz", "label"),
    [
        ("Asia/Shanghai", "2026-12-03 15:52 CST"),
        ("UTC", "2026-12-03 07:52 UTC"),
        ("Asia/Singapore", "2026-12-03 15:52 +08:00"),  # no abbreviation: the offset
        ("Asia/Kathmandu", "2026-12-03 13:37 +05:45"),
    ],
)
def test_format_time_labels_the_zone(tz: str, label: str) -> None:
    assert format_time(FIRST, tz) == label


@pytest.mark.parametrize(
    ("seconds", "zh", "en"),
    [
        (0, "0 秒", "0 s"),
        (45, "45 秒", "45 s"),
        (14 * 60 + 59, "14 分钟", "14 min"),
        (2 * 3600, "2 小时", "2 h"),
        (2 * 3600 + 5 * 60, "2 小时 5 分钟", "2 h 5 min"),
        (3 * 86400 + 4 * 3600 + 7, "3 天 4 小时", "3 d 4 h"),
        (-5, "0 秒", "0 s"),
    ],
)
def test_format_duration(seconds: int, zh: str, en: str) -> None:
    assert format_duration(seconds, "zh-hans") == zh
    assert format_duration(seconds, "en") == en


def test_normalise_language_maps_django_codes() -> None:
    assert normalise_language("zh-hans") == "zh-hans"
    assert normalise_language("zh-CN") == "zh-hans"
    assert normalise_language("en-us") == "en"
    assert normalise_language(None) == "en"
