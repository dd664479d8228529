from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import connection

from alarms.services.stats_rollup import rebuild_all


class Command(BaseCommand):
    help = (
        "Rebuild every hour of the statistics' roll-ups that writes have marked (what the beat "
        "task does a few hundred hours at a time), e.g. after a bulk load or an upgrade. "
        "PostgreSQL only; the statistics are exact meanwhile, only slower."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: the roll-ups are kept on PostgreSQL only.")
            return
        hours = rebuild_all()
        self.stdout.write(f"Rebuilt {hours} hours of the statistics' roll-ups.")
