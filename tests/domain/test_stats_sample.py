"""The statistics' sample of a long window (``selectors.stats_rollup.sampled``): about the asked
size, and spread over the whole window rather than taken from one end of it."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from alarms.models import Alarm
from alarms.selectors.stats_rollup import sampled
from tests.support.factories import make_endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def window() -> list[Alarm]:
    """4,096 alarms created as a fixed round of 64 instances, 64 times over (ids in order)."""
    endpoint = make_endpoint(name="sample").endpoint
    start = datetime(2026, 11, 1, tzinfo=UTC)
    return Alarm.objects.bulk_create(
        Alarm(
            endpoint=endpoint,
            fingerprint=f"f{n}",
            kind="metric",
            status="firing",
            namespace=f"ns-{n % 64:02d}",
            first_occurred_at=start + timedelta(minutes=n),
        )
        for n in range(4096)
    )


def test_a_sample_has_the_asked_size(window: list[Alarm], settings: Any) -> None:
    settings.ALARMHUB_STATS_SAMPLE = 2_000
    assert 1_960 <= sampled(Alarm.objects.all(), len(window)).count() <= 2_040


def test_a_window_no_bigger_than_the_sample_is_all_sampled(
    window: list[Alarm], settings: Any
) -> None:
    settings.ALARMHUB_STATS_SAMPLE = 5_000
    assert sampled(Alarm.objects.all(), len(window)).count() == len(window)


def test_the_sample_is_spread_over_the_window(window: list[Alarm], settings: Any) -> None:
    settings.ALARMHUB_STATS_SAMPLE = 400
    ids = sorted(sampled(Alarm.objects.all(), len(window)).values_list("pk", flat=True))
    position = {alarm.pk: n for n, alarm in enumerate(window)}
    quarters = [0, 0, 0, 0]
    for pk in ids:
        quarters[position[pk] * 4 // len(window)] += 1
    # Each quarter of the window holds about a quarter of the sample, and no stretch is skipped.
    assert all(80 <= quarter <= 120 for quarter in quarters), quarters
    assert max(b - a for a, b in itertools.pairwise(ids)) < 100


def test_every_member_of_a_fixed_round_is_sampled(window: list[Alarm], settings: Any) -> None:
    # The ids of one instance lie 64 apart. A bucket taken from the id's low bits alone would
    # keep some of them out of a small sample entirely, and list others at three times their
    # share.
    settings.ALARMHUB_STATS_SAMPLE = 200
    seen = sampled(Alarm.objects.all(), len(window)).values_list("namespace", flat=True)
    assert {f"ns-{n:02d}" for n in range(64)} <= set(seen)


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
