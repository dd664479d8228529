"""The statistics' window as an index-only scan (issue 16, point 3), built without locking writes.

- alarm_stats_window_idx: first_occurred_at, with every other column the one statistics
  statement reads (selectors.stats_postgres.COLUMNS) as INCLUDE columns. The window's alarms
  are then read from the index instead of the heap's wide rows (at a million alarms the 7-day
  window's 78k rows lie on ~6,000 heap pages; the bitmap heap scan was a fifth of the
  statement). SQLite has no INCLUDE: there it is an index on first_occurred_at.

On PostgreSQL the index is built with CREATE INDEX CONCURRENTLY (hence ``atomic = False``), as
in 0013: should the build fail half-way, PostgreSQL leaves an INVALID index behind: drop it and
migrate again.
"""

from __future__ import annotations

from django.db import migrations, models

from ._concurrent import AddIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("alarms", "0013_scale_indexes")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="alarm",
            index=models.Index(
                fields=["first_occurred_at"],
                include=(
                    "id",
                    "namespace",
                    "status",
                    "policy",
                    "instance",
                    "fingerprint",
                    "flapping",
                    "notification_count",
                    "recovered_at",
                    "acknowledged_at",
                    "first_acknowledged_at",
                ),
                name="alarm_stats_window_idx",
            ),
        ),
    ]
