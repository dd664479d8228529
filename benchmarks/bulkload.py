"""Bulk writing for benchmarks.seed: COPY with the models' defaults, GIN indexes built after.

Used inside the seed's Django process (``django.setup()`` done).
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any


class Copier:
    """COPY dict rows into a model's table; unset columns get the model field's default.

    Ids come from the table's sequence, or with ``with_ids`` from the rows (see reserve_ids).
    A JSON column takes a dict or its JSON text (COPY parses the text either way; a text that
    many rows share is encoded once by the caller).
    """

    def __init__(self, model: Any, now: datetime, *, with_ids: bool = False) -> None:
        from django.db.models import JSONField
        from django.db.models.fields import NOT_PROVIDED

        self.model = model
        self.table = model._meta.db_table
        # Columns the database fills itself: the id (unless reserved), db_default fields.
        self.fields = [
            f
            for f in model._meta.concrete_fields
            if (with_ids or not f.primary_key)
            and getattr(f, "db_default", NOT_PROVIDED) is NOT_PROVIDED
        ]
        # (column, default, NOT NULL, JSON) per field, in COPY's column order.
        self.plan: list[tuple[str, Any, bool, bool]] = []
        for f in self.fields:
            default: Any
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                default = now
            else:
                # Django's own default: the field's default, "" for text, else None.
                default = f.get_default()
            is_json = isinstance(f, JSONField)
            if is_json and default is not None:
                default = json.dumps(default)
            self.plan.append((f.attname, default, not f.null, is_json))

    def reserve_ids(self, count: int) -> int:
        """First of ``count`` consecutive primary keys taken from the table's sequence."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                "nextval(pg_get_serial_sequence(%s, 'id')) + %s - 1)",
                [self.table, self.table, count],
            )
            last = int(cursor.fetchone()[0])
        return last - count + 1

    def copy(self, rows: Iterable[dict[str, Any]]) -> int:
        from django.db import connection

        columns = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        written = 0
        sql = f"COPY {self.table} ({columns}) FROM STDIN"
        with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(self._values(row))
                written += 1
        return written

    def _values(self, row: dict[str, Any]) -> list[Any]:
        values = []
        for name, default, required, is_json in self.plan:
            value = row.get(name, default)
            if value is None:
                if required:
                    raise SystemExit(f"seed: no value for {self.table}.{name} (NOT NULL)")
            elif is_json and not isinstance(value, str):
                value = json.dumps(value)
            values.append(value)
        return values


def execute(sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()) if cursor.description else []


@contextlib.contextmanager
def gin_indexes_built_after(table: str, *, enabled: bool) -> Iterator[None]:
    """Drop ``table``'s GIN (trigram) indexes for the load and build them again afterwards.

    Maintaining them row by row is most of a big load's time (they double a 50,000-alarm
    load at 100,000 rows); one build over the loaded table is several times cheaper. They are
    rebuilt on the way out whatever happens, so a failed load leaves the schema as it was.
    """
    indexes = execute(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s AND indexdef LIKE %s",
        [table, "% USING gin %"],
    )
    if not enabled or not indexes:
        yield
        return
    for name, _ in indexes:
        execute(f'DROP INDEX IF EXISTS "{name}"')
    try:
        yield
    finally:
        started = time.monotonic()
        execute("SET maintenance_work_mem = '256MB'")
        for name, definition in indexes:
            execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
            print(f"seed: rebuilt {name}", file=sys.stderr, flush=True)
        print(
            f"seed: {len(indexes)} GIN indexes rebuilt in {time.monotonic() - started:.1f} s",
            file=sys.stderr,
            flush=True,
        )


class Progress:
    """One stderr line per chunk: rows so far, rows/s, and the time left at that rate."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.started = time.monotonic()

    def report(self, alarms: int, rows: int) -> None:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = alarms / elapsed
        left = (self.total - alarms) / rate if rate else 0.0
        print(
            f"seed: {alarms:,}/{self.total:,} alarms ({100 * alarms / self.total:.0f} %), "
            f"{rows:,} rows, {rate:,.0f} alarms/s, {rows / elapsed:,.0f} rows/s, "
            f"ETA {left:.0f} s",
            file=sys.stderr,
            flush=True,
        )
