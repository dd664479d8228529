"""Trigram indexes for free-text alarm search (PostgreSQL only).

`q` searches with case-insensitive substrings (Django's icontains: UPPER(col::text) LIKE
UPPER('%term%')), which no b-tree can serve; pg_trgm GIN indexes on exactly that expression
can. Creating the extension needs the database owner (pg_trgm is a trusted extension) or a
superuser; without that right the migration still succeeds and search stays a scan.
"""

from __future__ import annotations

import logging

from django.db import DatabaseError, migrations, transaction

logger = logging.getLogger(__name__)

# (table, column): each gets an index named <table>_<column>_trgm.
SEARCHED_COLUMNS = [
    ("alarms_alarm", "metric_name"),
    ("alarms_alarm", "event_name"),
    ("alarms_policy", "name"),
    ("alarms_policy", "policy_id"),
    ("alarms_instance", "instance_id"),
    ("alarms_instance", "name"),
]


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DatabaseError:
        logger.warning("pg_trgm is not available: free-text search will scan the alarm table")
        return
    for table, column in SEARCHED_COLUMNS:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{table}_{column}_trgm" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column in SEARCHED_COLUMNS:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{table}_{column}_trgm"')


class Migration(migrations.Migration):
    dependencies = [("alarms", "0004_operators_may_reprocess")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
