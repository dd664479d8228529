"""Hourly roll-ups of the alarms for the statistics (issue 16; ``selectors.stats_rollup``).

On PostgreSQL the statistics add these up instead of reading every alarm of a long window.
They are derived data: a trigger on the alarm table marks each hour (of ``first_occurred_at``,
UTC) whose alarms an INSERT, UPDATE or DELETE changed, a beat task rebuilds marked hours from
the alarms (``services.stats_rollup``), and the statistics read a marked hour from the alarms
themselves until then, so the answer is exact at every moment. Elsewhere (SQLite) nothing
maintains or reads them.
"""

from __future__ import annotations

from django.db import models
from django.db.models import ExpressionWrapper, F

from ..choices import AlarmStatus

# Every alarm falls in one of SAMPLE_BUCKETS buckets by its id: bits 10-19 of id × 40503
# (multiplicative hashing: the odd multiplier permutes the ids of every 2^20 block, whose top
# ten bits then hold each bucket equally often, and ids a fixed stride apart — a batch created in
# the same order every time — land in unrelated buckets). The buckets below k are a uniform
# sample of k/SAMPLE_BUCKETS of a window's alarms, read by an index on (bucket,
# first_occurred_at) without reading the rest of the window.
SAMPLE_BUCKETS = 1024
SAMPLE_BUCKET = ExpressionWrapper(
    (F("id") * 40503).bitrightshift(10).bitand(SAMPLE_BUCKETS - 1),
    output_field=models.BigIntegerField(),
)


class AlarmsOfAnHour(models.Model):
    """The key both roll-ups share: the alarms that started in one UTC hour (of
    ``first_occurred_at``) with one namespace and status."""

    hour = models.DateTimeField()
    namespace = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=10, choices=AlarmStatus.choices)

    class Meta:
        abstract = True


class StatsHour(AlarmsOfAnHour):
    """Those alarms' counts and the sums of their times to acknowledge and to recover
    (intervals: their sums are exact and divide as the exact statement's ``SUM(interval) /
    COUNT``)."""

    alarms = models.PositiveIntegerField()
    acknowledged = models.PositiveIntegerField()  # acknowledged now
    acked_once = models.PositiveIntegerField()  # first_acknowledged_at set
    tta = models.DurationField()
    recovered = models.PositiveIntegerField()  # recovered_at set
    ttr = models.DurationField()
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            # With every other column: the statistics read the rows by an index-only scan.
            models.UniqueConstraint(
                fields=["hour", "namespace", "status"],
                name="statshour_unique_key",
                include=[
                    "alarms",
                    "acknowledged",
                    "acked_once",
                    "tta",
                    "recovered",
                    "ttr",
                    "first_at",
                    "last_at",
                ],
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour.isoformat()} {self.namespace} {self.status}: {self.alarms}"


class StatsRecovery(AlarmsOfAnHour):
    """Of the alarms that started in one hour with one namespace and status, how many recovered
    in each UTC hour, and in each UTC day (``daily``): the ``recovered`` series of ``over_time``,
    whose buckets are hours for short windows and days for long ones. A long window reads the
    daily rows only, a fraction of the hourly ones."""

    daily = models.BooleanField()
    recovered_hour = models.DateTimeField()  # the start of the day when ``daily``
    alarms = models.PositiveIntegerField()
    first_recovered_at = models.DateTimeField()
    last_recovered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["daily", "hour", "namespace", "status", "recovered_hour"],
                name="statsrecovery_unique_key",
                include=["alarms", "first_recovered_at", "last_recovered_at"],
            )
        ]

    def __str__(self) -> str:
        return f"{self.hour.isoformat()} → {self.recovered_hour.isoformat()}: {self.alarms}"


class StatsDirtyHour(models.Model):
    """An hour whose alarms changed since its roll-up was built: one row per writing statement
    (plain inserts, so concurrent writers never wait on each other here)."""

    id = models.BigAutoField(primary_key=True)
    hour = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.hour.isoformat()
