"""Operational bookkeeping: heartbeats of periodic processes (DESIGN §6 Operations)."""

from __future__ import annotations

from datetime import datetime

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Heartbeat(models.Model):
    """The last time a named periodic job ran, e.g. the beat-driven stranded-delivery sweep.

    Stored in the database, not the cache: the cache is per process in embedded mode, and
    ``/metrics`` may be scraped from any web process while beat runs elsewhere.
    """

    # The beat-driven stranded-delivery sweep (alarms.tasks.requeue_stranded_deliveries).
    SWEEP = "requeue_stranded_deliveries"

    name = models.CharField(_("name"), max_length=64, primary_key=True)
    at = models.DateTimeField(_("last run"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return f"{self.name} @ {self.at.isoformat()}"

    @classmethod
    def beat(cls, name: str, *, at: datetime | None = None) -> None:
        """Record that ``name`` ran now: one UPDATE, an INSERT only the very first time."""
        at = at or timezone.now()
        if not cls.objects.filter(name=name).update(at=at):
            # Two first-ever beats racing: the loser's INSERT conflicts and updates instead.
            cls.objects.update_or_create(name=name, defaults={"at": at})


class PruneTally(models.Model):
    """Rows retention has deleted so far, per table: ``/metrics`` reads it on any web process."""

    table = models.CharField(_("table"), max_length=64, primary_key=True)
    rows = models.BigIntegerField(_("rows pruned"), default=0)

    class Meta:
        verbose_name = _("prune tally")
        verbose_name_plural = _("prune tallies")

    def __str__(self) -> str:
        return f"{self.table}: {self.rows}"

    @classmethod
    def add(cls, counts: dict[str, int]) -> None:
        """Add this run's counts: rows created once (a racing run's insert is ignored), then
        one atomic increment per table, so concurrent runs never lose a count."""
        counts = {table: rows for table, rows in counts.items() if rows}
        PruneTally.objects.bulk_create(
            [PruneTally(table=table, rows=0) for table in counts], ignore_conflicts=True
        )
        for table, rows in counts.items():
            cls.objects.filter(table=table).update(rows=models.F("rows") + rows)
