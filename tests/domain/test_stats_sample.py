"""The statistics' sample of a long window (``selectors.stats_rollup.sampled``): about the asked
size, and spread over the whole window rather than taken from one end of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alarms.models import Alarm
from alarms.selectors.stats_rollup import sampled
from tests.support.factories import make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def window() -> list[int]:
    endpoint = make_endpoint(name="sample").endpoint
    start = datetime(2026, 11, 1, tzinfo=UTC)
    made = Alarm.objects.bulk_create(
        Alarm(
            endpoint=endpoint,
            fingerprint=f"f{n}",
            kind="metric",
            status="firing",
            first_occurred_at=start + timedelta(minutes=n),
        )
        for n in range(4096)
    )
    return sorted(alarm.pk for alarm in made)


def test_a_sample_has_the_asked_size(window: list[int], settings: Any) -> None:
    settings.ALARMHUB_STATS_SAMPLE = 2_000
    # 500 of 1,024 buckets (enough for 2,000 of 4,096), each holding every 1,024th id.
    assert sampled(Alarm.objects.all(), len(window)).count() == 2_000


def test_a_window_no_bigger_than_the_sample_is_all_sampled(
    window: list[int], settings: Any
) -> None:
    settings.ALARMHUB_STATS_SAMPLE = 5_000
    assert sampled(Alarm.objects.all(), len(window)).count() == len(window)


def test_the_sample_is_spread_over_the_window(window: list[int], settings: Any) -> None:
    settings.ALARMHUB_STATS_SAMPLE = 400
    ids = list(sampled(Alarm.objects.all(), len(window)).values_list("pk", flat=True))
    quarters = [0, 0, 0, 0]
    for pk in ids:
        quarters[(window.index(pk) * 4) // len(window)] += 1
    # A uniform sample: each quarter of the window holds a quarter of it (here exactly, as
    # every 1,024 consecutive ids hold each bucket once), and no run of ids is taken whole.
    assert quarters == [len(ids) // 4] * 4
    assert len(ids) == 400
    gaps = [b - a for a, b in zip(sorted(ids), sorted(ids)[1:], strict=False)]
    assert max(gaps) < 100


def test_beat_rebuilds_the_roll_ups_every_sweep_interval(settings: Any) -> None:
    from alarms.tasks import rebuild_stats_rollups

    entry = settings.CELERY_BEAT_SCHEDULE["rebuild-stats-rollups"]
    assert entry["task"] == rebuild_stats_rollups.name
    assert entry["schedule"] == timedelta(seconds=settings.ALARMHUB_SWEEP_INTERVAL_SECONDS)


def test_off_postgresql_there_are_no_roll_ups_to_rebuild() -> None:
    from io import StringIO

    from django.core.management import call_command

    from alarms.tasks import rebuild_stats_rollups

    assert rebuild_stats_rollups() == 0
    out = StringIO()
    call_command("rebuild_stats", stdout=out)
    assert "PostgreSQL only" in out.getvalue()
