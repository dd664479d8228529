from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from alarms.pipeline import retention


class Command(BaseCommand):
    help = (
        "Apply the retention periods now (what beat does nightly): finished deliveries, finished "
        "outbound messages, raw bodies, and recovered alarms when ALARMHUB_ALARM_RETENTION_DAYS "
        "is set. Deletes in batches; safe to run while callbacks arrive and to interrupt."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be pruned; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        dry_run: bool = options["dry_run"]
        alarm_days = settings.ALARMHUB_ALARM_RETENTION_DAYS
        self.stdout.write(
            "Retention: delivery rows {d} days, raw bodies {b} days, outbound messages {o} days, "
            "recovered alarms {a}.".format(
                d=settings.ALARMHUB_DELIVERY_RETENTION_DAYS,
                b=settings.ALARMHUB_RETENTION_DAYS,
                o=settings.ALARMHUB_OUTBOUND_RETENTION_DAYS,
                a=f"{alarm_days} days" if alarm_days else "kept for ever",
            )
        )
        result = retention.prune(dry_run=dry_run)
        verb = "Would prune" if dry_run else "Pruned"
        if not result.total:
            self.stdout.write(f"{verb} nothing.")
            return
        for table, rows in sorted(result.rows.items()):
            what = "bodies cleared" if table == retention.BODIES else "rows"
            self.stdout.write(f"{verb} {table}: {rows} {what}")
        self.stdout.write(f"{verb} {result.total} in total.")
