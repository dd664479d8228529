"""Reads about the outbox for ``/metrics`` (``alarms.ops.metrics``)."""

from __future__ import annotations

from django.db.models import Count

from ..models import OutboundMessage


def outbound_counts_by_kind_and_status() -> dict[tuple[str, str], int]:
    """Outbox messages per (channel kind, status), all kept rows: one GROUP BY over a join.

    Grows with the outbox table, which retention keeps short (ALARMHUB_OUTBOUND_RETENTION_DAYS).
    """
    rows = (
        OutboundMessage.objects.order_by().values("channel__kind", "status").annotate(n=Count("id"))
    )
    return {(row["channel__kind"], row["status"]): row["n"] for row in rows}
