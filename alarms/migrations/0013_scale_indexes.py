"""Indexes for the pages at a million alarms (issue 16, point 3), built without locking writes.

On PostgreSQL each index is built with CREATE INDEX CONCURRENTLY (hence ``atomic = False``):
callbacks keep landing in alarms_alarm while a big table is indexed. Elsewhere (SQLite) it is a
plain CREATE INDEX. Should a concurrent build fail half-way, PostgreSQL leaves an INVALID index
behind: drop it and migrate again.

- alarm_region_lower_idx: the region filter compares LOWER(region);
- alarm_recovered_idx: the board's "recently recovered" rank (recovered_at >= cutoff);
- alarm_search_legacy_idx: rows in the old search-text format, which search still reads
  through the joined tables (empty once every row has been rewritten);
- alarm_firing_seen_idx (replacing alarm_firing_ns_idx): the board's firing and stale counts
  per namespace as an index-only scan;
- alarm_ns_status_idx: namespace and status filtered together (the admin's capped count).
"""

from __future__ import annotations

import django.db.models.functions.text
from django.db import migrations, models

from ._concurrent import AddIndexConcurrentlyOnPostgres, RemoveIndexConcurrentlyOnPostgres


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run inside a transaction

    dependencies = [("alarms", "0012_api_tokens")]

    operations = [
        AddIndexConcurrentlyOnPostgres(
            model_name="alarm",
            index=models.Index(
                django.db.models.functions.text.Lower("region"),
                models.OrderBy(models.F("first_occurred_at"), descending=True),
                name="alarm_region_lower_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="alarm",
            index=models.Index(
                models.OrderBy(models.F("recovered_at"), descending=True),
                condition=models.Q(("status", "recovered")),
                name="alarm_recovered_idx",
            ),
        ),
        AddIndexConcurrentlyOnPostgres(
            model_name="alarm",
            index=models.Index(
                condition=models.Q(("search_text__startswith", "\x1f"), _negated=True),
                fields=["id"],
                name="alarm_search_legacy_idx",
            ),
        ),
        # Replaces alarm_firing_ns_idx (built first, so the firing alarms are never unindexed).
        AddIndexConcurrentlyOnPostgres(
            model_name="alarm",
            index=models.Index(
                condition=models.Q(("status", "firing")),
                fields=["namespace", "last_notified_at", "id"],
                name="alarm_firing_seen_idx",
            ),
        ),
        RemoveIndexConcurrentlyOnPostgres(model_name="alarm", name="alarm_firing_ns_idx"),
        AddIndexConcurrentlyOnPostgres(
            model_name="alarm",
            index=models.Index(
                fields=["namespace", "status", "-first_occurred_at"], name="alarm_ns_status_idx"
            ),
        ),
    ]
